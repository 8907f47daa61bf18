// How well a model does on the device's own validation split, higher is better: accuracy for a
// classifier (labelled samples), minus the mean squared reconstruction error for an autoencoder.
import { decodeModel } from '../../protocols/index.js'
import { toTrainingData, type StoredSample } from '../dataset/index.js'
import { accuracy, predict, sampleErrors, type GraphRunnerFactory } from '../training/index.js'
import { modelIo } from './local-training.js'

export interface ScoreModelParameters {
  model: Uint8Array
  samples: readonly StoredSample[]
  /** Output labels of a classifier; undefined: an autoencoder. */
  classes: readonly string[] | undefined
  engine?: GraphRunnerFactory
  signal?: AbortSignal
}

export async function scoreModel(p: ScoreModelParameters): Promise<number> {
  const model = decodeModel(p.model)
  const io = modelIo(model)
  const data = toTrainingData(p.samples as StoredSample[], io.sampleShape, p.classes)
  const outputs = await predict(model, data.features, io.sampleShape, {
    ...(p.engine === undefined ? {} : { engine: p.engine }),
    ...(p.signal === undefined ? {} : { signal: p.signal }),
  })
  if (data.labels !== undefined) return accuracy(outputs, data.labels)
  const errors = sampleErrors(outputs, data.features, p.samples.length)
  return -errors.reduce((a, b) => a + b, 0) / Math.max(1, errors.length)
}
