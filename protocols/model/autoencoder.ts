// Reference dense autoencoder for anomaly scores on flattened windows: input [N, inputs] →
// (Gemm → Relu)* → Gemm (linear code) → (Gemm → Relu)* → Gemm → output [N, inputs]. The anomaly
// score of a window is its mean squared reconstruction error.
import { BATCH_DIM, MAX_LAYERS, MODEL_INPUT, MODEL_OUTPUT } from './constants.js'
import { GraphBuilder } from './graph-builder.js'
import { WeightInit } from './init.js'
import { checkWidth, checkWidths, dense } from './layers.js'
import type { ModelProto } from './onnx.js'

export interface AutoencoderParameters {
  inputs: number
  /** Encoder widths; the decoder mirrors them. */
  hidden: readonly number[]
  latent: number
  seed: number
}

export function buildAutoencoder(parameters: AutoencoderParameters): ModelProto {
  const inputs = checkWidth('inputs', parameters.inputs)
  const hidden = checkWidths('hidden', parameters.hidden, MAX_LAYERS)
  const latent = checkWidth('latent', parameters.latent)
  const init = new WeightInit(parameters.seed)
  const g = new GraphBuilder('autoencoder')
  let x = g.input(MODEL_INPUT, 'float32', [BATCH_DIM, inputs])
  let width = inputs
  hidden.forEach((h, i) => {
    x = dense(g, init, `enc${i + 1}`, x, width, h, true)
    width = h
  })
  x = dense(g, init, `enc${hidden.length + 1}`, x, width, latent, false)
  width = latent
  ;[...hidden].reverse().forEach((h, i) => {
    x = dense(g, init, `dec${i + 1}`, x, width, h, true)
    width = h
  })
  const last = dense(g, init, `dec${hidden.length + 1}`, x, width, inputs, false)
  g.node('Identity', [last], {}, MODEL_OUTPUT)
  g.output(MODEL_OUTPUT, 'float32', [BATCH_DIM, inputs])
  return g.build({ docString: `autoencoder ${[inputs, ...hidden, latent].join('-')}` })
}
