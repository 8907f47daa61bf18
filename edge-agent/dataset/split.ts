// Seeded train/validation split of stored samples, and their conversion to training data.
import { InvalidArgumentError } from '../../protocols/errors.js'
import type { TrainingData } from '../training/train.js'
import { permutation, seededGenerator } from '../training/shuffle.js'
import type { StoredSample } from './sample-store.js'

export interface SplitParameters {
  /** Share of samples held out for validation, in [0, 1). */
  validation: number
  seed: number
  /** Split each label on its own, so that both sides keep the class balance. */
  stratify?: boolean
}

export interface SplitReturnType<S> {
  train: S[]
  validation: S[]
}

/** The same samples, seed and fraction give the same split; each side keeps stream order. */
export function splitSamples<S extends { seq: number; label?: string }>(samples: readonly S[], parameters: SplitParameters): SplitReturnType<S> {
  const { validation, seed } = parameters
  if (typeof validation !== 'number' || !(validation >= 0 && validation < 1)) throw new InvalidArgumentError('validation', 'must be in [0, 1)')
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new InvalidArgumentError('seed', 'must be an integer in 0..2^32-1')
  const groups = new Map<string, S[]>()
  for (const s of samples) {
    const key = parameters.stratify === true ? (s.label ?? '') : ''
    const list = groups.get(key) ?? []
    list.push(s)
    groups.set(key, list)
  }
  const rng = seededGenerator(seed)
  const held = new Set<S>()
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key) as S[]
    const order = permutation(group.length, rng)
    const n = Math.round(group.length * validation)
    for (let i = 0; i < n; i++) held.add(group[order[i] as number] as S)
  }
  const out: SplitReturnType<S> = { train: [], validation: [] }
  for (const s of samples) (held.has(s) ? out.validation : out.train).push(s)
  return out
}

/** Samples as training data: features stacked, labels as indices into `classes` (when given). */
export function toTrainingData(samples: readonly StoredSample[], sampleShape: readonly number[], classes?: readonly string[]): TrainingData {
  const size = sampleShape.reduce((a, b) => a * b, 1)
  const features = new Float32Array(samples.length * size)
  const index = new Map((classes ?? []).map((c, i) => [c, i]))
  const labels = classes === undefined ? undefined : new Int32Array(samples.length)
  samples.forEach((s, i) => {
    if (s.features.length !== size) throw new InvalidArgumentError(`samples[${i}].features`, `has ${s.features.length} values, the shape needs ${size}`)
    features.set(s.features, i * size)
    if (labels !== undefined) {
      const k = s.label === undefined ? undefined : index.get(s.label)
      if (k === undefined) throw new InvalidArgumentError(`samples[${i}].label`, `${String(s.label)} is not one of the classes`)
      labels[i] = k
    }
  })
  return labels === undefined ? { features, sampleShape } : { features, sampleShape, labels }
}
