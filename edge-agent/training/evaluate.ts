// Running a model forward over a data set in batches: predictions, accuracy against labels,
// and per-sample mean squared error against targets (an autoencoder's anomaly score).
import { decodeModel, encodeModel, type ModelProto } from '../../protocols/model/index.js'
import { InvalidArgumentError } from '../../protocols/errors.js'
import { ortWebRunner, type GraphRunnerFactory } from './graph-runner.js'
import { argmax } from './train.js'

export interface PredictParameters {
  batchSize?: number
  engine?: GraphRunnerFactory
  signal?: AbortSignal
}

const DEFAULT_BATCH = 256

/** The model's first output for every sample, concatenated (count × output size). */
export async function predict(modelInput: ModelProto | Uint8Array, features: Float32Array, sampleShape: readonly number[], parameters: PredictParameters = {}): Promise<Float32Array> {
  const model = modelInput instanceof Uint8Array ? decodeModel(modelInput) : modelInput
  const sampleSize = sampleShape.reduce((a, b) => a * b, 1)
  if (features.length === 0 || features.length % sampleSize !== 0) throw new InvalidArgumentError('features', `length is not a positive multiple of ${sampleSize}`)
  const count = features.length / sampleSize
  const inputName = (model.graph?.input ?? []).find((i) => !(model.graph?.initializer ?? []).some((t) => t.name === i.name))?.name ?? ''
  const outputName = model.graph?.output?.[0]?.name ?? ''
  const batch = parameters.batchSize ?? DEFAULT_BATCH
  const runner = await (parameters.engine ?? ortWebRunner)(encodeModel(model))
  const parts: Float32Array[] = []
  try {
    for (let start = 0; start < count; start += batch) {
      parameters.signal?.throwIfAborted()
      const n = Math.min(batch, count - start)
      const out = await runner.run({ [inputName]: { data: features.subarray(start * sampleSize, (start + n) * sampleSize), dims: [n, ...sampleShape] } })
      parts.push(Float32Array.from(out[outputName]?.data ?? []))
    }
  } finally {
    await runner.dispose()
  }
  const total = parts.reduce((a, p) => a + p.length, 0)
  const all = new Float32Array(total)
  let at = 0
  for (const p of parts) {
    all.set(p, at)
    at += p.length
  }
  return all
}

/** Share of samples whose largest output is their label. */
export function accuracy(outputs: Float32Array, labels: ArrayLike<number>): number {
  const classes = outputs.length / labels.length
  let correct = 0
  for (let i = 0; i < labels.length; i++) if (argmax(outputs, i * classes, classes) === labels[i]) correct++
  return correct / labels.length
}

/** Mean squared error of each sample's output against its target (same layout). */
export function sampleErrors(outputs: Float32Array, targets: Float32Array, count: number): Float64Array {
  const size = outputs.length / count
  const out = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    let s = 0
    for (let k = 0; k < size; k++) {
      const d = (outputs[i * size + k] as number) - (targets[i * size + k] as number)
      s += d * d
    }
    out[i] = s / size
  }
  return out
}
