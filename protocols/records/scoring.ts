// Contribution scores and rewards, as docs/scoring.md states them. Integer arithmetic after one
// float64 step (the quality factor, rounded down to parts per million), so every party computes
// the same rewards. Quality is computed one update at a time, so scoring streams like FedAvg.
import type { Address } from 'viem'
import { InvalidArgumentError } from '../errors.js'
import type { NamedTensor } from '../tensors/named-tensor.js'

export const QUALITY_SCALE = 1_000_000

const squaredNorm = (ts: readonly NamedTensor<'float32'>[]): number => {
  let sum = 0
  for (const t of ts) for (const v of t.data) sum += v * v
  return sum
}

/** quality = max(0, cosine(delta, aggregate delta)) in ppm, rounded down; 0 for an update the strategy did not use. */
export function qualityPpm(delta: readonly NamedTensor<'float32'>[], aggregateDelta: readonly NamedTensor<'float32'>[], used: boolean): number {
  if (!used) return 0
  let dot = 0
  delta.forEach((t, i) => {
    const a = (aggregateDelta[i] as NamedTensor<'float32'>).data
    for (let j = 0; j < t.data.length; j++) dot += (t.data[j] as number) * (a[j] as number)
  })
  const norms = Math.sqrt(squaredNorm(delta)) * Math.sqrt(squaredNorm(aggregateDelta))
  const cosine = norms === 0 ? 0 : dot / norms
  return Math.min(QUALITY_SCALE, Math.max(0, Math.floor(cosine * QUALITY_SCALE)))
}

/** weight = samples × quality; reward = ⌊total × weight / Σ weight⌋ (the rounding dust stays unallocated). */
export function splitRewards(contributions: readonly { sampleCount: number; qualityPpm: number }[], rewardTotal: bigint): bigint[] {
  if (rewardTotal < 0n) throw new InvalidArgumentError('rewardTotal', 'must be >= 0')
  const weights = contributions.map((c) => BigInt(c.sampleCount) * BigInt(c.qualityPpm))
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
  const scored = inputs.map((i) => ({ device: i.device, sampleCount: i.sampleCount, qualityPpm: qualityPpm(i.delta, aggregateDelta, i.used) }))
  const rewards = splitRewards(scored, rewardTotal)
  return scored.map((s, i) => ({ device: s.device, qualityPpm: s.qualityPpm, reward: rewards[i] ?? 0n }))
}
