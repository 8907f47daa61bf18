// Aggregation that holds up when some devices lie. These need every update of the round at once,
// so they hold them (up to MAX_HELD_UPDATES).
//   - coordinate-wise median and trimmed mean: Yin et al., "Byzantine-Robust Distributed Learning", ICML 2018;
//   - Krum and Multi-Krum: Blanchard et al., "Machine Learning with Adversaries", NeurIPS 2017.
import type { Address } from 'viem'
import { InvalidArgumentError } from '../errors.js'
import { DEFAULT_TRIM, MAX_HELD_UPDATES } from './constants.js'
import { applyDelta, inOrder, squaredDistance } from './tensor-math.js'
import { weightedMeanDelta } from './fedavg.js'
import type { AggregateResult, ClientUpdate, RoundConfig, Strategy, Weights } from './types.js'

async function hold(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>): Promise<ClientUpdate[]> {
  const held: ClientUpdate[] = []
  for await (const update of inOrder(updates, base)) {
    if (held.length === MAX_HELD_UPDATES) throw new InvalidArgumentError('updates', `more than ${MAX_HELD_UPDATES} updates in one round`)
    held.push(update)
  }
  return held
}

/**
 * Applies `reduce` to each coordinate's values across updates, sorted ascending, with the weight
 * of each value (all 1 unless `weighted`, then the update's sample count). Ties in value keep
 * device order, so the sorted sequence, and every sum over it, is the same on every run.
 */
function coordinateWise(
  base: Weights,
  held: readonly ClientUpdate[],
  weighted: boolean,
  reduce: (sorted: Float64Array, weights: Float64Array) => number,
): Float64Array[] {
  const n = held.length
  const column = new Float64Array(n)
  const sorted = new Float64Array(n)
  const weights = new Float64Array(n).fill(1)
  const sampleWeights = Float64Array.from(held, (u) => u.sampleCount)
  const order = new Uint32Array(n)
  const byValue = (a: number, b: number) => (column[a] as number) - (column[b] as number) || a - b
  return base.map((t, i) => {
    const tensors = held.map((u) => (u.delta[i] as { data: Float32Array }).data)
    const out = new Float64Array(t.data.length)
    for (let j = 0; j < out.length; j++) {
      for (let k = 0; k < n; k++) column[k] = (tensors[k] as Float32Array)[j] as number
      if (weighted) {
        for (let k = 0; k < n; k++) order[k] = k
        order.sort(byValue)
        for (let k = 0; k < n; k++) {
          const at = order[k] as number
          sorted[k] = column[at] as number
          weights[k] = sampleWeights[at] as number
        }
        out[j] = reduce(sorted, weights)
      } else {
        column.sort()
        out[j] = reduce(column, weights)
      }
    }
    return out
  })
}

/** Median of sorted values: the middle one, or the mean of the middle two. */
function median(sorted: Float64Array): number {
  const n = sorted.length
  return n % 2 === 1 ? (sorted[(n - 1) / 2] as number) : ((sorted[n / 2 - 1] as number) + (sorted[n / 2] as number)) / 2
}

/**
 * Weighted median of sorted values: the first value at which the cumulative weight reaches half
 * the total, or the mean of it and the next where it lands exactly on half (with equal weights,
 * the ordinary median). Sample counts are integers, so the comparison is exact.
 */
function weightedMedian(sorted: Float64Array, weights: Float64Array): number {
  let total = 0
  for (const w of weights) total += w
  let cumulative = 0
  for (let k = 0; k < sorted.length; k++) {
    cumulative += weights[k] as number
    if (2 * cumulative === total) return ((sorted[k] as number) + (sorted[k + 1] as number)) / 2
    if (2 * cumulative > total) return sorted[k] as number
  }
  return sorted[sorted.length - 1] as number
}

/**
 * Weighted trimmed mean of sorted values: `trim` of the total weight is cut from each end, a
 * value straddling a cut counts with the part of its weight inside, and the rest is averaged.
 */
function weightedTrimmedMean(sorted: Float64Array, weights: Float64Array, trim: number): number {
  let total = 0
  for (const w of weights) total += w
  const lo = trim * total
  const hi = total - lo
  let below = 0
  let sum = 0
  for (let k = 0; k < sorted.length; k++) {
    const above = below + (weights[k] as number)
    const inside = Math.min(above, hi) - Math.max(below, lo)
    if (inside > 0) sum += inside * (sorted[k] as number)
    below = above
  }
  return sum / (hi - lo)
}

export interface RobustWeightingOptions {
  /**
   * Weigh each update by its sample count, as FedAvg does, instead of counting every device once
   * (the default, Yin et al.'s definition). The weighted rules estimate the same sample-weighted
   * objective as FedAvg and hold on non-IID fleets whose devices hold very different amounts of
   * data; they tolerate attackers up to a share of the total *sample count*, which devices
   * attest themselves, within the verifier's sample-count range (docs/scoring.md, "Robust strategies").
   */
  weighted?: boolean
}

const weightingParams = (weighted: boolean): Record<string, number> => (weighted ? { weighted: 1 } : {})

export class CoordinateMedian implements Strategy {
  readonly name = 'median'
  readonly weighted: boolean
  constructor(options: RobustWeightingOptions = {}) {
    this.weighted = options.weighted ?? false
  }
  configure(): RoundConfig {
    return { strategy: this.name, params: weightingParams(this.weighted) }
  }
  async aggregate(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>): Promise<AggregateResult> {
    const held = await hold(base, updates)
    const reduce = this.weighted ? weightedMedian : median
    return { weights: applyDelta(base, coordinateWise(base, held, this.weighted, reduce)), state: [], used: held.map((u) => u.device) }
  }
}

export interface TrimmedMeanOptions extends RobustWeightingOptions {
  /** Fraction of the values (of the weight, when weighted) dropped from each end of every coordinate, in [0, 0.5). */
  trim?: number
}

export class TrimmedMean implements Strategy {
  readonly name = 'trimmed-mean'
  readonly trim: number
  readonly weighted: boolean
  constructor(options: TrimmedMeanOptions = {}) {
    const { trim = DEFAULT_TRIM } = options
    if (!(trim >= 0 && trim < 0.5)) throw new InvalidArgumentError('trim', 'must be in [0, 0.5)')
    this.trim = trim
    this.weighted = options.weighted ?? false
  }
  configure(): RoundConfig {
    return { strategy: this.name, params: { trim: this.trim, ...weightingParams(this.weighted) } }
  }
  async aggregate(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>): Promise<AggregateResult> {
    const held = await hold(base, updates)
    const trim = this.trim
    let reduce: (sorted: Float64Array, weights: Float64Array) => number
    if (this.weighted) reduce = (sorted, weights) => weightedTrimmedMean(sorted, weights, trim)
    else {
      const cut = Math.floor(trim * held.length)
      reduce = (sorted) => {
        let sum = 0
        for (let k = cut; k < sorted.length - cut; k++) sum += sorted[k] as number
        return sum / (sorted.length - 2 * cut)
      }
    }
    return { weights: applyDelta(base, coordinateWise(base, held, this.weighted, reduce)), state: [], used: held.map((u) => u.device) }
  }
}

export interface KrumOptions {
  /** The number of Byzantine devices tolerated, f; Krum needs n > 2f + 2 updates. */
  byzantine: number
  /** Multi-Krum: how many of the best-scored updates are averaged (1 = Krum). Default 1. */
  select?: number
}

export class Krum implements Strategy {
  readonly name: string
  readonly byzantine: number
  readonly select: number
  constructor(options: KrumOptions) {
    const { byzantine, select = 1 } = options
    if (!Number.isInteger(byzantine) || byzantine < 0) throw new InvalidArgumentError('byzantine', 'must be an integer >= 0')
    if (!Number.isInteger(select) || select < 1) throw new InvalidArgumentError('select', 'must be an integer >= 1')
    this.byzantine = byzantine
    this.select = select
    this.name = select === 1 ? 'krum' : 'multi-krum'
  }
  configure(): RoundConfig {
    return { strategy: this.name, params: { byzantine: this.byzantine, select: this.select } }
  }
  async aggregate(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>): Promise<AggregateResult> {
    const held = await hold(base, updates)
    const n = held.length
    const f = this.byzantine
    if (n <= 2 * f + 2) throw new InvalidArgumentError('updates', `Krum with f = ${f} needs more than ${2 * f + 2} updates, got ${n}`)
    const distances = held.map((a) => held.map((b) => (a === b ? 0 : squaredDistance(a.delta, b.delta))))
    // Score: the sum of squared distances to the n - f - 2 nearest other updates.
    const scores = distances.map((row, i) =>
      row
        .filter((_, j) => j !== i)
        .sort((x, y) => x - y)
        .slice(0, n - f - 2)
        .reduce((s, d) => s + d, 0),
    )
    // Ties go to the lower device address (the held order), so the choice is deterministic.
    const chosen = scores
      .map((score, i) => ({ score, i }))
      .sort((a, b) => a.score - b.score || a.i - b.i)
      .slice(0, Math.min(this.select, n))
      .map((c) => c.i)
      .sort((a, b) => a - b)
    const picked = chosen.map((i) => held[i] as ClientUpdate)
    const { mean } = await weightedMeanDelta(base, picked)
    const used: Address[] = picked.map((u) => u.device)
    return { weights: applyDelta(base, mean), state: [], used }
  }
}
