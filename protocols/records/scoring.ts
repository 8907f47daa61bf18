// Contribution scores and rewards, as docs/scoring.md states them. Integer arithmetic after one
// float64 step (the quality factor, rounded down to parts per million), so every party computes
// the same rewards. Quality is computed one update at a time, so scoring streams like FedAvg.
import type { Address } from 'viem'
import { InvalidArgumentError } from '../errors.js'
import type { NamedTensor } from '../tensors/named-tensor.js'

export const QUALITY_SCALE = 1_000_000

/**
 * A sample count is what a device signs; nothing checks it against its data. So a claim counts
 * only up to this many samples, in the aggregate's weights and in the reward (docs/scoring.md).
 */
export const SAMPLE_WEIGHT_CAP = 1_000
/** sampleWeight's fixed-point scale: weights are ⌊SAMPLE_WEIGHT_SCALE · √samples⌋. */
export const SAMPLE_WEIGHT_SCALE = 1_000n

const toCount = (claimed: number | bigint, field: string): bigint => {
  if (typeof claimed === 'number' && !(Number.isSafeInteger(claimed) && claimed >= 0)) throw new InvalidArgumentError(field, 'must be a non-negative integer')
  const n = BigInt(claimed)
  if (n < 0n) throw new InvalidArgumentError(field, 'must be a non-negative integer')
  return n
}

/** The sample count a contribution has in the aggregate: min(claimed, SAMPLE_WEIGHT_CAP). */
export function aggregationSamples(claimed: number | bigint): number {
  const n = toCount(claimed, 'sampleCount')
  return Number(n < BigInt(SAMPLE_WEIGHT_CAP) ? n : BigInt(SAMPLE_WEIGHT_CAP))
}

/** A contribution's weight for its samples in the reward: ⌊1000 · √min(claimed, SAMPLE_WEIGHT_CAP)⌋, sub-linear and capped. */
export function sampleWeight(claimed: number | bigint): bigint {
  return isqrt(BigInt(aggregationSamples(claimed)) * SAMPLE_WEIGHT_SCALE * SAMPLE_WEIGHT_SCALE)
}

/** ⌊√n⌋ for n ≥ 0, by Newton's method on integers. */
function isqrt(n: bigint): bigint {
  if (n < 2n) return n
  let x = BigInt(Math.floor(Math.sqrt(Number(n))))
  while (x * x > n) x--
  while ((x + 1n) * (x + 1n) <= n) x++
  return x
}

const squaredNorm = (ts: readonly NamedTensor<'float32'>[]): number => {
  let sum = 0
  for (const t of ts) for (const v of t.data) sum += v * v
  return sum
}

/** quality = max(0, cosine(delta, reference)) in ppm, rounded down; 0 for an update the strategy did not use. */
export function qualityPpm(delta: readonly NamedTensor<'float32'>[], reference: readonly NamedTensor<'float32'>[], used: boolean): number {
  if (!used) return 0
  let dot = 0
  delta.forEach((t, i) => {
    const a = (reference[i] as NamedTensor<'float32'>).data
    for (let j = 0; j < t.data.length; j++) dot += (t.data[j] as number) * (a[j] as number)
  })
  return toPpm(Math.sqrt(squaredNorm(delta)) * Math.sqrt(squaredNorm(reference)), dot)
}

const toPpm = (norms: number, dot: number): number => {
  const cosine = norms === 0 || !Number.isFinite(norms) ? 0 : dot / norms
  return Math.min(QUALITY_SCALE, Math.max(0, Math.floor(cosine * QUALITY_SCALE)))
}

/**
 * The consensus a contribution is scored against: the sum of the unit directions of the round's
 * used updates, each counting once, whatever its norm and whatever samples it claims. An update's
 * quality is its cosine with the sum of the *others'* directions (its own taken out), so neither
 * a large claim nor a large norm, which weigh in the aggregate, buys it a good score, and an update
 * that points away from what the other devices learnt scores 0. Updates are added in the round's
 * device order, so every party sums the same float64 bits.
 */
export class Consensus {
  readonly #sum: Float64Array[] = []
  #count = 0

  /** Adds a used update's direction (an update of norm 0 has none and adds nothing). */
  add(delta: readonly NamedTensor<'float32'>[]): void {
    const norm = Math.sqrt(squaredNorm(delta))
    if (norm === 0) return
    delta.forEach((t, i) => {
      let sum = this.#sum[i]
      if (sum === undefined) {
        sum = new Float64Array(t.data.length)
        this.#sum[i] = sum
      }
      if (sum.length !== t.data.length) throw new InvalidArgumentError(`delta.${i}`, 'has another size than the updates before it')
      for (let j = 0; j < t.data.length; j++) sum[j] = (sum[j] as number) + (t.data[j] as number) / norm
    })
    this.#count++
  }

  /** Directions added. */
  get count(): number {
    return this.#count
  }

  /**
   * quality = max(0, cosine(delta, Σ others' unit directions)) in ppm, for an update that was
   * added; undefined while fewer than two directions were added (a lone update has no others).
   */
  qualityPpm(delta: readonly NamedTensor<'float32'>[]): number | undefined {
    if (this.#count < 2) return undefined
    const norm = Math.sqrt(squaredNorm(delta))
    if (norm === 0) return 0
    let dotSum = 0
    let sumSquared = 0
    delta.forEach((t, i) => {
      const sum = this.#sum[i] as Float64Array
      for (let j = 0; j < t.data.length; j++) {
        dotSum += (t.data[j] as number) * (sum[j] as number)
        sumSquared += (sum[j] as number) * (sum[j] as number)
      }
    })
    // others = sum − delta/|delta|: dot(delta, others) = dot(delta, sum) − |delta|, |others|² = |sum|² − 2·dot(delta, sum)/|delta| + 1.
    const othersSquared = sumSquared - (2 * dotSum) / norm + 1
    return othersSquared <= 0 ? 0 : toPpm(norm * Math.sqrt(othersSquared), dotSum - norm)
  }
}

/** A used update's quality: against the others' consensus, or, for the round's only direction, against the aggregate delta. */
export function contributionQuality(delta: readonly NamedTensor<'float32'>[], consensus: Consensus, aggregateDelta: readonly NamedTensor<'float32'>[], used: boolean): number {
  if (!used) return 0
  return consensus.qualityPpm(delta) ?? qualityPpm(delta, aggregateDelta, true)
}

/**
 * weight = sampleWeight(samples) × quality; reward = ⌊total × weight / Σ weight⌋ (the rounding
 * dust stays unallocated). The weight grows with the square root of the claimed samples and stops
 * at SAMPLE_WEIGHT_CAP, so a device that lies about its samples gains at most
 * √(SAMPLE_WEIGHT_CAP / n) over an honest one with n samples and the same quality.
 */
export function splitRewards(contributions: readonly { sampleCount: number; qualityPpm: number }[], rewardTotal: bigint): bigint[] {
  if (rewardTotal < 0n) throw new InvalidArgumentError('rewardTotal', 'must be >= 0')
  const weights = contributions.map((c) => sampleWeight(c.sampleCount) * BigInt(c.qualityPpm))
  const total = weights.reduce((s, w) => s + w, 0n)
  return weights.map((w) => (total === 0n ? 0n : (rewardTotal * w) / total))
}

export interface ScoreInput {
  device: Address
  sampleCount: number
  delta: readonly NamedTensor<'float32'>[]
  used: boolean
}

export interface Score {
  device: Address
  qualityPpm: number
  reward: bigint
}

/** Both steps at once, for callers that hold every delta. */
export function scoreContributions(inputs: readonly ScoreInput[], aggregateDelta: readonly NamedTensor<'float32'>[], rewardTotal: bigint): Score[] {
  const consensus = new Consensus()
  for (const input of inputs) if (input.used) consensus.add(input.delta)
  const scored = inputs.map((input) => ({ device: input.device, sampleCount: input.sampleCount, qualityPpm: contributionQuality(input.delta, consensus, aggregateDelta, input.used) }))
  const rewards = splitRewards(scored, rewardTotal)
  return scored.map((s, i) => ({ device: s.device, qualityPpm: s.qualityPpm, reward: rewards[i] ?? 0n }))
}
