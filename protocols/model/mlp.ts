// Reference MLP classifier: input [N, inputs] → (Gemm → Relu)* → Gemm → LogSoftmax → output
// [N, classes] of log-probabilities (argmax is the class).
import { InvalidArgumentError } from '../errors.js'
import { BATCH_DIM, MAX_LAYERS, MODEL_INPUT, MODEL_OUTPUT } from './constants.js'
import { GraphBuilder } from './graph-builder.js'
import { WeightInit } from './init.js'
import { checkWidth, checkWidths, dense } from './layers.js'
import type { ModelProto } from './onnx.js'

export interface MlpParameters {
  inputs: number
  hidden: readonly number[]
  classes: number
  /** Seed of the weight initialisation. */
  seed: number
}

export function buildMlp(parameters: MlpParameters): ModelProto {
  const inputs = checkWidth('inputs', parameters.inputs)
  const hidden = checkWidths('hidden', parameters.hidden, MAX_LAYERS)
  const classes = checkWidth('classes', parameters.classes)
  if (classes < 2) throw new InvalidArgumentError('classes', 'must be at least 2')
  const init = new WeightInit(parameters.seed)
  const g = new GraphBuilder('mlp')
  let x = g.input(MODEL_INPUT, 'float32', [BATCH_DIM, inputs])
  let width = inputs
  hidden.forEach((h, i) => {
    x = dense(g, init, `fc${i + 1}`, x, width, h, true)
    width = h
  })
  const logits = dense(g, init, `fc${hidden.length + 1}`, x, width, classes, false)
  g.node('LogSoftmax', [logits], { axis: 1 }, MODEL_OUTPUT)
  g.output(MODEL_OUTPUT, 'float32', [BATCH_DIM, classes])
  return g.build({ docString: `MLP ${[inputs, ...hidden, classes].join('-')}` })
}

/** The MLP for the digits data set: 8×8 images (64 features) → 10 digits. */
export function buildDigitsMlp(seed: number, hidden: readonly number[] = [32]): ModelProto {
  return buildMlp({ inputs: 64, hidden, classes: 10, seed })
}

/** The MLP for the wine data set: 13 measurements → 3 cultivars. */
export function buildWineMlp(seed: number, hidden: readonly number[] = [16]): ModelProto {
  return buildMlp({ inputs: 13, hidden, classes: 3, seed })
}
