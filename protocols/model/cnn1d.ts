// Reference 1-D CNN classifier for sensor windows, input [N, channels, length] (channels first,
// as hardware/sensors' windowing gives it): (Conv → Relu → MaxPool/2)* → Flatten → Gemm → Relu →
// Gemm → LogSoftmax → output [N, classes] of log-probabilities.
import { InvalidArgumentError } from '../errors.js'
import { BATCH_DIM, MAX_KERNEL, MAX_LAYERS, MAX_WINDOW, MODEL_INPUT, MODEL_OUTPUT } from './constants.js'
import { GraphBuilder } from './graph-builder.js'
import { WeightInit } from './init.js'
import { checkWidth, checkWidths, dense } from './layers.js'
import type { ModelProto } from './onnx.js'

export interface Cnn1dParameters {
  channels: number
  length: number
  classes: number
  /** Output channels of each conv layer; each is followed by a ReLU and a max-pool of 2. */
  filters: readonly number[]
  /** Odd kernel size; padding keeps the length through each conv. */
  kernel: number
  /** Width of the dense layer before the output. */
  hidden: number
  seed: number
}

export function buildCnn1d(parameters: Cnn1dParameters): ModelProto {
  const channels = checkWidth('channels', parameters.channels)
  let length = checkWidth('length', parameters.length, MAX_WINDOW)
  const classes = checkWidth('classes', parameters.classes)
  if (classes < 2) throw new InvalidArgumentError('classes', 'must be at least 2')
  const filters = checkWidths('filters', parameters.filters, MAX_LAYERS)
  const kernel = checkWidth('kernel', parameters.kernel, MAX_KERNEL)
  if (kernel % 2 !== 1) throw new InvalidArgumentError('kernel', 'must be odd')
  const hidden = checkWidth('hidden', parameters.hidden)
  if (length >> filters.length < 1) throw new InvalidArgumentError('length', `too short for ${filters.length} pooling layers`)
  const init = new WeightInit(parameters.seed)
  const g = new GraphBuilder('cnn1d')
  let x = g.input(MODEL_INPUT, 'float32', [BATCH_DIM, channels, length])
  let c = channels
  const pad = (kernel - 1) / 2
  filters.forEach((f, i) => {
    const fanIn = c * kernel
    const w = g.initializer(init.he(`conv${i + 1}.weight`, [f, c, kernel], fanIn))
    const b = g.initializer(init.zeros(`conv${i + 1}.bias`, [f]))
    x = g.node('Conv', [x, w, b], { kernel_shape: [kernel], pads: [pad, pad], strides: [1], dilations: [1], group: 1 })
    x = g.node('Relu', [x])
    x = g.node('MaxPool', [x], { kernel_shape: [2], strides: [2] })
    c = f
    length = Math.floor(length / 2)
  })
  x = g.node('Flatten', [x], { axis: 1 })
  x = dense(g, init, 'fc1', x, c * length, hidden, true)
  const logits = dense(g, init, 'fc2', x, hidden, classes, false)
  g.node('LogSoftmax', [logits], { axis: 1 }, MODEL_OUTPUT)
  g.output(MODEL_OUTPUT, 'float32', [BATCH_DIM, classes])
  return g.build({ docString: `CNN-1D ${channels}x${parameters.length} → ${classes}` })
}
