// train(): runs the training-step graph of a model (training-graph.ts) over a data set for some
// epochs and returns the new weights with per-epoch loss and metrics. Deterministic for a seed
// (the sample order is the only randomness; run the WASM engine single-threaded for bit-exact
// repeats) and cancellable between steps through `signal`.
import type { Logger } from 'pino'
import {
  decodeModel,
  readInitializers,
  replaceInitializers,
  type ModelProto,
} from '../../protocols/model/index.js'
import { namedTensor, type NamedTensor } from '../../protocols/tensors/named-tensor.js'
import { InvalidArgumentError } from '../../protocols/errors.js'
import { encodeModel } from '../../protocols/model/index.js'
import { TrainingDivergedError } from '../errors.js'
import {
  BETA1_INPUT,
  BETA2_INPUT,
  BIAS1_INPUT,
  BIAS2_INPUT,
  DEFAULT_BETA1,
  DEFAULT_BETA2,
  DEFAULT_EPSILON,
  DEFAULT_MOMENTUM,
  EPSILON_INPUT,
  LOSS_OUTPUT,
  LR_INPUT,
  MAX_BATCH_SIZE,
  MAX_EPOCHS,
  MAX_SAMPLES,
  MOMENTUM_INPUT,
  MU_INPUT,
  TARGET_INPUT,
  baseName,
  newStateName,
  newWeightName,
  stateName,
} from './constants.js'
import { ortWebRunner, type FloatTensor, type GraphRunnerFactory } from './graph-runner.js'
import { permutation, seededGenerator } from './shuffle.js'
import { buildTrainingGraph, type LossKind } from './training-graph.js'

/** Samples stored row-major: `features` holds count × prod(sampleShape) values. */
export interface TrainingData {
  features: Float32Array
  /** Shape of one sample, without the batch dimension, e.g. [64] or [channels, length]. */
  sampleShape: readonly number[]
  /** Class index per sample (cross-entropy). */
  labels?: ArrayLike<number>
  /** MSE targets, count × output size; absent with MSE: the features (an autoencoder). */
  targets?: Float32Array
}

export interface TrainParameters {
  epochs: number
  batchSize: number
  lr: number
  optimizer: 'sgd' | 'adam'
  seed: number
  /** SGD momentum; default 0.9. */
  momentum?: number
  beta1?: number
  beta2?: number
  epsilon?: number
  /** FedProx μ; 0 or absent: plain local training. */
  mu?: number
  /** FedProx base weights; default the model's own weights at the start. */
  base?: readonly NamedTensor[]
  /** Default: 'cross-entropy' when the data has labels, else 'mse'. */
  loss?: LossKind
  signal?: AbortSignal
  engine?: GraphRunnerFactory
  logger?: Logger
  onEpoch?: (metrics: EpochMetrics) => void
}

export interface EpochMetrics {
  epoch: number
  /** Mean training loss over the epoch's samples (the FedProx term included). */
  loss: number
  /** Share of the epoch's samples classified right during training (cross-entropy only). */
  accuracy?: number
  samples: number
  steps: number
}

export interface TrainReturnType {
  weights: NamedTensor<'float32'>[]
  /** The input model with the new weights. */
  model: ModelProto
  epochs: EpochMetrics[]
  steps: number
}

function positiveInt(field: string, value: unknown, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) throw new InvalidArgumentError(field, `must be an integer in 1..${max}`)
  return value as number
}

function finiteIn(field: string, value: unknown, min: number, max: number, openMin = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (openMin && value === min))
    throw new InvalidArgumentError(field, `must be a number in ${openMin ? '(' : '['}${min}, ${max}]`)
  return value
}

export async function train(modelInput: ModelProto | Uint8Array, data: TrainingData, parameters: TrainParameters): Promise<TrainReturnType> {
  const model = modelInput instanceof Uint8Array ? decodeModel(modelInput) : modelInput
  const epochs = positiveInt('epochs', parameters.epochs, MAX_EPOCHS)
  const batchSize = positiveInt('batchSize', parameters.batchSize, MAX_BATCH_SIZE)
  const lr = finiteIn('lr', parameters.lr, 0, 10, true)
  const optimizer = parameters.optimizer
  if (optimizer !== 'sgd' && optimizer !== 'adam') throw new InvalidArgumentError('optimizer', "must be 'sgd' or 'adam'")
  if (!Number.isSafeInteger(parameters.seed) || parameters.seed < 0 || parameters.seed > 0xffff_ffff) throw new InvalidArgumentError('seed', 'must be an integer in 0..2^32-1')
  const momentum = finiteIn('momentum', parameters.momentum ?? DEFAULT_MOMENTUM, 0, 1)
  const beta1 = finiteIn('beta1', parameters.beta1 ?? DEFAULT_BETA1, 0, 1)
  const beta2 = finiteIn('beta2', parameters.beta2 ?? DEFAULT_BETA2, 0, 1)
  if (beta1 === 1 || beta2 === 1) throw new InvalidArgumentError('beta', 'must be below 1')
  const epsilon = finiteIn('epsilon', parameters.epsilon ?? DEFAULT_EPSILON, 0, 1, true)
  const mu = finiteIn('mu', parameters.mu ?? 0, 0, 1e6)
  const signal = parameters.signal
  signal?.throwIfAborted()

  // Data checks, before any allocation they drive.
  if (!(data.features instanceof Float32Array)) throw new InvalidArgumentError('data.features', 'must be a Float32Array')
  if (!Array.isArray(data.sampleShape) || data.sampleShape.some((d) => !Number.isSafeInteger(d) || d < 1))
    throw new InvalidArgumentError('data.sampleShape', 'must be an array of positive integers')
  const sampleSize = data.sampleShape.reduce((a, b) => a * b, 1)
  if (data.features.length === 0 || data.features.length % sampleSize !== 0)
    throw new InvalidArgumentError('data.features', `length ${data.features.length} is not a positive multiple of the sample size ${sampleSize}`)
  const count = data.features.length / sampleSize
  if (count > MAX_SAMPLES) throw new InvalidArgumentError('data.features', `more than ${MAX_SAMPLES} samples`)
  const loss: LossKind = parameters.loss ?? (data.labels === undefined ? 'mse' : 'cross-entropy')

  const graph = buildTrainingGraph(model, { loss, optimizer, proximal: mu > 0 })
  const outSize = graph.outputShape.slice(1).reduce((a, b) => a * b, 1)
  if (outSize < 0) throw new InvalidArgumentError('model', 'output must have a static shape besides the batch')
  let labels: Int32Array | undefined
  let targets: Float32Array | undefined
  if (loss === 'cross-entropy') {
    if (data.labels === undefined || data.labels.length !== count) throw new InvalidArgumentError('data.labels', `must hold one label per sample (${count})`)
    labels = Int32Array.from(data.labels)
    for (const [i, l] of labels.entries())
      if (!(l >= 0 && l < outSize) || l !== data.labels[i]) throw new InvalidArgumentError('data.labels', `label ${data.labels[i]} at ${i} is not a class index below ${outSize}`)
  } else {
    targets = data.targets ?? data.features
    if (targets.length !== count * outSize) throw new InvalidArgumentError('data.targets', `must hold ${count} × ${outSize} values`)
  }

  // Weights, optimiser state, FedProx base.
  const initial = new Map(readInitializers(model, { floatOnly: true }).map((t) => [t.name, t]))
  const weights = new Map<string, Float32Array>()
  const state = new Map<string, Float32Array>()
  const feedsStatic: Record<string, FloatTensor> = {}
  for (const w of graph.weights) {
    const t = initial.get(w)
    if (t === undefined) throw new InvalidArgumentError('model', `no initializer ${w}`)
    weights.set(w, Float32Array.from(t.data as Float32Array))
    for (const slot of graph.slots) state.set(stateName(slot, w), new Float32Array(t.data.length))
  }
  const scalar = (v: number): FloatTensor => ({ data: Float32Array.of(v), dims: [] })
  if (graph.proximal) {
    feedsStatic[MU_INPUT] = scalar(mu)
    const base = new Map((parameters.base ?? [...initial.values()]).map((t) => [t.name, t]))
    for (const w of graph.weights) {
      const b = base.get(w)
      const shape = graph.shapes.get(w) ?? []
      if (b === undefined || b.dtype !== 'float32' || b.data.length !== (weights.get(w) as Float32Array).length)
        throw new InvalidArgumentError('base', `needs a float32 tensor ${w} of shape [${shape.join(', ')}]`)
      feedsStatic[baseName(w)] = { data: b.data as Float32Array, dims: shape }
    }
  }
  feedsStatic[LR_INPUT] = scalar(lr)
  if (optimizer === 'sgd') feedsStatic[MOMENTUM_INPUT] = scalar(momentum)
  else Object.assign(feedsStatic, { [BETA1_INPUT]: scalar(beta1), [BETA2_INPUT]: scalar(beta2), [EPSILON_INPUT]: scalar(epsilon) })

  const runner = await (parameters.engine ?? ortWebRunner)(encodeModel(graph.model))
  const rng = seededGenerator(parameters.seed)
  const history: EpochMetrics[] = []
  let step = 0
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = permutation(count, rng)
      let lossSum = 0
      let correct = 0
      let steps = 0
      for (let start = 0; start < count; start += batchSize) {
        signal?.throwIfAborted()
        const n = Math.min(batchSize, count - start)
        const x = new Float32Array(n * sampleSize)
        const y = new Float32Array(n * outSize)
        for (let i = 0; i < n; i++) {
          const s = order[start + i] as number
          x.set(data.features.subarray(s * sampleSize, (s + 1) * sampleSize), i * sampleSize)
          if (labels !== undefined) y[i * outSize + (labels[s] as number)] = 1
          else y.set((targets as Float32Array).subarray(s * outSize, (s + 1) * outSize), i * outSize)
        }
        step++
        const feeds: Record<string, FloatTensor> = {
          ...feedsStatic,
          [graph.input]: { data: x, dims: [n, ...data.sampleShape] },
          [TARGET_INPUT]: { data: y, dims: [n, ...graph.outputShape.slice(1)] },
        }
        if (optimizer === 'adam') {
          feeds[BIAS1_INPUT] = scalar(1 / (1 - beta1 ** step))
          feeds[BIAS2_INPUT] = scalar(1 / (1 - beta2 ** step))
        }
        for (const w of graph.weights) {
          const dims = graph.shapes.get(w) ?? []
          feeds[w] = { data: weights.get(w) as Float32Array, dims }
          for (const slot of graph.slots) feeds[stateName(slot, w)] = { data: state.get(stateName(slot, w)) as Float32Array, dims }
        }
        const out = await runner.run(feeds)
        const stepLoss = out[LOSS_OUTPUT]?.data[0] ?? Number.NaN
        if (!Number.isFinite(stepLoss)) throw new TrainingDivergedError(epoch, step, 'the loss')
        for (const w of graph.weights) {
          const nw = out[newWeightName(w)]?.data
          if (nw === undefined || nw.some((v) => !Number.isFinite(v))) throw new TrainingDivergedError(epoch, step, `weight ${w}`)
          weights.set(w, nw)
          for (const slot of graph.slots) state.set(stateName(slot, w), out[newStateName(slot, w)]?.data as Float32Array)
        }
        lossSum += stepLoss * n
        steps++
        if (labels !== undefined) {
          const pred = out[graph.output]?.data as Float32Array
          for (let i = 0; i < n; i++) if (argmax(pred, i * outSize, outSize) === labels[order[start + i] as number]) correct++
        }
      }
      const metrics: EpochMetrics = { epoch, loss: lossSum / count, samples: count, steps, ...(labels === undefined ? {} : { accuracy: correct / count }) }
      history.push(metrics)
      parameters.logger?.debug(metrics, 'epoch done')
      parameters.onEpoch?.(metrics)
    }
  } finally {
    await runner.dispose()
  }
  const result = graph.weights.map((w) => namedTensor(w, 'float32', graph.shapes.get(w) ?? [], Float32Array.from(weights.get(w) as Float32Array)))
  return { weights: result, model: replaceInitializers(model, result), epochs: history, steps: step }
}

export function argmax(values: ArrayLike<number>, offset: number, length: number): number {
  let best = 0
  let bestValue = -Infinity
  for (let k = 0; k < length; k++) {
    const v = values[offset + k] as number
    if (v > bestValue) {
      bestValue = v
      best = k
    }
  }
  return best
}
