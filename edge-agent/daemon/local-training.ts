// One round's work on the device: train the announced base model on the local samples, take the
// weight delta over every float initializer (the tensors the gateway checks, in name order),
// clip it to the round's norm bound, encode it, and describe what was done in a metrics hash.
import type { Logger } from 'pino'
import type { Hex } from 'viem'
import {
  contentId,
  decodeModel,
  encodeUpdate,
  int64ToNumber,
  InvalidArgumentError,
  readInitializers,
  sortByName,
  type ModelProto,
  type NamedTensor,
  privatiseUpdate,
  type GaussianSource,
  type UpdateEncoding,
} from '../../protocols/index.js'
import type { StoredSample } from '../dataset/index.js'
import { toTrainingData } from '../dataset/index.js'
import { train, type GraphRunnerFactory } from '../training/index.js'

export interface ModelIo {
  input: string
  /** Shape of one sample (the input's dimensions after the batch). */
  sampleShape: number[]
  sampleSize: number
  /** Values per sample of the first output (the classes of a classifier). */
  outputSize: number
}

/** The model's input and first output, with static dimensions after the batch one. */
export function modelIo(model: ModelProto): ModelIo {
  const graph = model.graph
  const initializers = new Set((graph?.initializer ?? []).map((i) => i.name))
  const input = (graph?.input ?? []).find((i) => !initializers.has(i.name))
  const output = graph?.output?.[0]
  const dims = (v: typeof input, what: string): number[] => {
    const d = v?.type?.tensorType?.shape?.dim ?? []
    if (d.length < 2) throw new InvalidArgumentError(`model.${what}`, 'needs a batch dimension and at least one more')
    return d.slice(1).map((x, i) => {
      const n = x.dimValue === null || x.dimValue === undefined ? 0 : int64ToNumber(x.dimValue)
      if (!(n > 0)) throw new InvalidArgumentError(`model.${what}`, `dimension ${i + 1} is not static`)
      return n
    })
  }
  if (input?.name == null || output === undefined) throw new InvalidArgumentError('model', 'has no input or no output')
  const sampleShape = dims(input, 'input')
  return { input: input.name, sampleShape, sampleSize: sampleShape.reduce((a, b) => a * b, 1), outputSize: dims(output, 'output').reduce((a, b) => a * b, 1) }
}

export interface LocalRoundParameters {
  baseModel: Uint8Array
  /** Training samples (the validation split already taken out). */
  samples: readonly StoredSample[]
  /** Label of each model output; undefined: unlabelled samples, trained as an autoencoder (MSE). */
  classes: readonly string[] | undefined
  epochs: number
  batchSize: number
  lr: number
  optimizer: 'sgd' | 'adam'
  seed: number
  mu?: number
  maxNorm?: number
  encoding: UpdateEncoding
  /** Device-level DP: the delta is clipped to clipNorm and noised (σ·clipNorm) before it is encoded. */
  privacy?: { clipNorm: number; noiseMultiplier: number; gaussian?: GaussianSource }
  engine?: GraphRunnerFactory
  signal?: AbortSignal
  logger?: Logger
}

export interface LocalRoundMetrics {
  samples: number
  epochs: number
  loss: number
  accuracy?: number
  /** L2 norm of the delta before clipping. */
  norm: number
  clipped: boolean
  /** Device-level DP: standard deviation of the noise added to each coordinate. */
  noiseStd?: number
}

export interface LocalRoundReturnType {
  update: Uint8Array
  updateHash: Hex
  metrics: LocalRoundMetrics
  metricsHash: Hex
}

/** Keeps a little room under the bound, so that quantised encodings stay within it. */
const CLIP_HEADROOM = 0.999

export async function trainLocalRound(p: LocalRoundParameters): Promise<LocalRoundReturnType> {
  const model = decodeModel(p.baseModel)
  const io = modelIo(model)
  const data = toTrainingData(p.samples as StoredSample[], io.sampleShape, p.classes)
  const result = await train(model, data, {
    epochs: p.epochs,
    batchSize: p.batchSize,
    lr: p.lr,
    optimizer: p.optimizer,
    seed: p.seed,
    ...(p.mu === undefined || p.mu === 0 ? {} : { mu: p.mu }),
    ...(p.engine === undefined ? {} : { engine: p.engine }),
    ...(p.signal === undefined ? {} : { signal: p.signal }),
    ...(p.logger === undefined ? {} : { logger: p.logger }),
  })
  const base = sortByName(readInitializers(model, { floatOnly: true }) as NamedTensor<'float32'>[])
  const trained = new Map(result.weights.map((w) => [w.name, w.data]))
  let sum = 0
  const delta = base.map((b) => {
    const w = trained.get(b.name)
    const data = new Float32Array(b.data.length)
    if (w !== undefined)
      for (let i = 0; i < data.length; i++) {
        const d = Math.fround((w[i] as number) - (b.data[i] as number))
        data[i] = d
        sum += d * d
      }
    return { name: b.name, dtype: 'float32' as const, shape: b.shape, data }
  })
  const norm = Math.sqrt(sum)
  const clipped = p.maxNorm !== undefined && norm > p.maxNorm * CLIP_HEADROOM
  if (clipped) {
    const scale = ((p.maxNorm as number) * CLIP_HEADROOM) / norm
    for (const t of delta) for (let i = 0; i < t.data.length; i++) t.data[i] = (t.data[i] as number) * scale
  }
  // Device-level DP: nothing but the privatised delta is encoded, hashed and so signed.
  const privatised =
    p.privacy === undefined
      ? undefined
      : privatiseUpdate(delta, { clipNorm: p.privacy.clipNorm, noiseMultiplier: p.privacy.noiseMultiplier, ...(p.privacy.gaussian === undefined ? {} : { gaussian: p.privacy.gaussian }) })
  const update = encodeUpdate(privatised?.delta ?? delta, { encoding: p.encoding })
  const last = result.epochs[result.epochs.length - 1]
  const metrics: LocalRoundMetrics = {
    samples: p.samples.length,
    epochs: result.epochs.length,
    loss: last?.loss ?? Number.NaN,
    ...(last?.accuracy === undefined ? {} : { accuracy: last.accuracy }),
    norm,
    clipped: clipped || (privatised?.clipped ?? false),
    ...(privatised === undefined ? {} : { noiseStd: privatised.noiseStd }),
  }
  return { update, updateHash: contentId(update), metrics, metricsHash: contentId(new TextEncoder().encode(JSON.stringify(metrics))) }
}
