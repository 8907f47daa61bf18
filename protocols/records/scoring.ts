// Contribution scores and rewards, as docs/scoring.md states them. Integer arithmetic after one
// float64 step (the quality factor, rounded down to parts per million), so every party computes
// the same rewards.
import type { Address } from 'viem'
import { InvalidArgumentError } from '../errors.js'
import type { NamedTensor } from '../tensors/named-tensor.js'

export const QUALITY_SCALE = 1_000_000

export interface ScoreInput {
  device: Address
  sampleCount: number
  delta: readonly NamedTensor<'float32'>[]
  /** Whether the strategy used the update; unused (outlier) updates score 0. */
  used: boolean
}

export interface Score {
  device: Address
  qualityPpm: number
  /** sampleCount × qualityPpm. */
  weight: bigint
  reward: bigint
}

/**
 * quality = max(0, cosine(delta, aggregate delta)), in ppm, rounded down; weight = samples ×
 * quality; reward = ⌊rewardTotal × weight / Σ weight⌋. The rounding dust stays unallocated.
 */
export function scoreContributions(inputs: readonly ScoreInput[], aggregateDelta: readonly NamedTensor<'float32'>[], rewardTotal: bigint): Score[] {
  if (rewardTotal < 0n) throw new InvalidArgumentError('rewardTotal', 'must be >= 0')
  let aggNorm = 0
  for (const t of aggregateDelta) for (const v of t.data) aggNorm += v * v
  aggNorm = Math.sqrt(aggNorm)
  const weighted = inputs.map((input) => {
    let dot = 0
    let norm = 0
    input.delta.forEach((t, i) => {
      const a = (aggregateDelta[i] as NamedTensor<'float32'>).data
      for (let j = 0; j < t.data.length; j++) {
        const v = t.data[j] as number
        dot += v * (a[j] as number)
        norm += v * v
      }
    })
    const cosine = norm === 0 || aggNorm === 0 ? 0 : dot / (Math.sqrt(norm) * aggNorm)
    const qualityPpm = input.used ? Math.min(QUALITY_SCALE, Math.max(0, Math.floor(cosine * QUALITY_SCALE))) : 0
    return { device: input.device, qualityPpm, weight: BigInt(input.sampleCount) * BigInt(qualityPpm) }
  })
  const total = weighted.reduce((s, w) => s + w.weight, 0n)
  return weighted.map((w) => ({ ...w, reward: total === 0n ? 0n : (rewardTotal * w.weight) / total }))
}
