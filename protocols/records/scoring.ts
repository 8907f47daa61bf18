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

/**
 * quality = max(0, cosine(delta, aggregate delta − ownShare · delta)) in ppm, rounded down; 0 for an
 * update the strategy did not use. `ownShare` is the update's share of the aggregate's weight
 * (contributionShares): taking it out compares each update with what the *others* taught, so an
 * update cannot score well by dominating the aggregate it is compared with.
 */
export function qualityPpm(delta: readonly NamedTensor<'float32'>[], aggregateDelta: readonly NamedTensor<'float32'>[], used: boolean, ownShare = 0): number {
  if (!used) return 0
  if (!(Number.isFinite(ownShare) && ownShare >= 0 && ownShare <= 1)) throw new InvalidArgumentError('ownShare', 'must be in [0, 1]')
  let dot = 0
  let referenceSquared = 0
  delta.forEach((t, i) => {
    const a = (aggregateDelta[i] as NamedTensor<'float32'>).data
    for (let j = 0; j < t.data.length; j++) {
      const d = t.data[j] as number
      const reference = (a[j] as number) - ownShare * d
      dot += d * reference
      referenceSquared += reference * reference
    }
  })
  const norms = Math.sqrt(squaredNorm(delta)) * Math.sqrt(referenceSquared)
  const cosine = norms === 0 ? 0 : dot / norms
  return Math.min(QUALITY_SCALE, Math.max(0, Math.floor(cosine * QUALITY_SCALE)))
}

/**
 * Each contribution's share of the aggregate's weight: aggregationSamples(claimed) over the sum
 * for the used ones, 0 for the unused. A round with a single used update has nothing to compare it
 * with but the aggregate itself: its share is 0.
 */
export function contributionShares(contributions: readonly { sampleCount: number | bigint; used: boolean }[]): number[] {
  const weights = contributions.map((c) => (c.used ? aggregationSamples(c.sampleCount) : 0))
  const total = weights.reduce((s, w) => s + w, 0)
  const usedCount = contributions.filter((c) => c.used).length
  return weights.map((w) => (usedCount < 2 || total === 0 ? 0 : w / total))
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
  const shares = contributionShares(inputs)
  const scored = inputs.map((input, i) => ({ device: input.device, sampleCount: input.sampleCount, qualityPpm: qualityPpm(input.delta, aggregateDelta, input.used, shares[i]) }))
  const rewards = splitRewards(scored, rewardTotal)
  return scored.map((s, i) => ({ device: s.device, qualityPpm: s.qualityPpm, reward: rewards[i] ?? 0n }))
}
