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

/** Applies `reduce` to each coordinate's sorted values across updates. */
function coordinateWise(base: Weights, held: readonly ClientUpdate[], reduce: (sorted: Float64Array) => number): Float64Array[] {
  const column = new Float64Array(held.length)
  return base.map((t, i) => {
    const out = new Float64Array(t.data.length)
    for (let j = 0; j < out.length; j++) {
      held.forEach((u, k) => {
        column[k] = (u.delta[i]?.data[j] ?? 0) as number
      })
      column.sort()
      out[j] = reduce(column)
    }
    return out
  })
}

export class CoordinateMedian implements Strategy {
  readonly name = 'median'
  configure(): RoundConfig {
    return { strategy: this.name, params: {} }
  }
  async aggregate(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>): Promise<AggregateResult> {
    const held = await hold(base, updates)
    const n = held.length
    const median = (s: Float64Array) => (n % 2 === 1 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2)
    return { weights: applyDelta(base, coordinateWise(base, held, median)), state: [], used: held.map((u) => u.device) }
  }
}

export interface TrimmedMeanOptions {
  /** Fraction of the values dropped from each end of every coordinate, in [0, 0.5). */
  trim?: number
}

export class TrimmedMean implements Strategy {
  readonly name = 'trimmed-mean'
  readonly trim: number
  constructor(options: TrimmedMeanOptions = {}) {
    const { trim = DEFAULT_TRIM } = options
    if (!(trim >= 0 && trim < 0.5)) throw new InvalidArgumentError('trim', 'must be in [0, 0.5)')
    this.trim = trim
  }
  configure(): RoundConfig {
    return { strategy: this.name, params: { trim: this.trim } }
  }
  async aggregate(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>): Promise<AggregateResult> {
    const held = await hold(base, updates)
    const cut = Math.floor(this.trim * held.length)
    const mean = (s: Float64Array) => {
      let sum = 0
      for (let k = cut; k < s.length - cut; k++) sum += s[k] as number
      return sum / (s.length - 2 * cut)
    }
    return { weights: applyDelta(base, coordinateWise(base, held, mean)), state: [], used: held.map((u) => u.device) }
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
