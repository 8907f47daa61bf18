// FedAdam, FedYogi and FedAdagrad (Reddi et al., "Adaptive Federated Optimization", ICLR 2021,
// Algorithm 2): the weighted mean delta is a pseudo-gradient for a server-side adaptive optimiser.
// The optimiser's moments are state carried from round to round (and recorded for audit).
import { InvalidArgumentError } from '../errors.js'
import { DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_SERVER_LR, DEFAULT_TAU } from './constants.js'
import { weightedMeanDelta } from './fedavg.js'
import { applyDelta, sameShape, toWeights } from './tensor-math.js'
import type { AggregateResult, ClientUpdate, RoundConfig, Strategy, Weights } from './types.js'

export interface ServerOptimiserOptions {
  lr?: number
  beta1?: number
  beta2?: number
  /** Adaptivity τ: keeps the step finite where the second moment is small. */
  tau?: number
}

const M = 'm/'
const V = 'v/'

abstract class ServerOptimiser implements Strategy {
  abstract readonly name: string
  readonly lr: number
  readonly beta1: number
  readonly beta2: number
  readonly tau: number

  constructor(options: ServerOptimiserOptions = {}) {
    const { lr = DEFAULT_SERVER_LR, beta1 = DEFAULT_BETA1, beta2 = DEFAULT_BETA2, tau = DEFAULT_TAU } = options
    const check = (name: string, v: number, lo: number, hi: number) => {
      if (!(Number.isFinite(v) && v >= lo && v <= hi)) throw new InvalidArgumentError(name, `must be in [${lo}, ${hi}]`)
    }
    check('lr', lr, 0, 1e3)
    check('beta1', beta1, 0, 1)
    check('beta2', beta2, 0, 1)
    check('tau', tau, 1e-12, 1e3)
    this.lr = lr
    this.beta1 = beta1
    this.beta2 = beta2
    this.tau = tau
  }

  configure(): RoundConfig {
    return { strategy: this.name, params: { lr: this.lr, beta1: this.beta1, beta2: this.beta2, tau: this.tau } }
  }

  /** The new second moment from the old one and the squared pseudo-gradient: the one hook variants override. */
  protected abstract secondMoment(v: number, g2: number): number

  async aggregate(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>, state: Weights = []): Promise<AggregateResult> {
    const moments = (prefix: string) =>
      base.map((t) => {
        const found = state.find((s) => s.name === prefix + t.name)
        if (found === undefined) return new Float64Array(t.data.length)
        if (!sameShape(found.shape, t.shape)) throw new InvalidArgumentError(`state.${prefix}${t.name}`, 'shape differs from the model')
        return Float64Array.from(found.data)
      })
    const m = moments(M)
    const v = moments(V)
    const { mean, used } = await weightedMeanDelta(base, updates)
    const step = mean.map((g, i) => {
      const mi = m[i] as Float64Array
      const vi = v[i] as Float64Array
      const out = new Float64Array(g.length)
      for (let j = 0; j < g.length; j++) {
        const gj = g[j] as number
        mi[j] = this.beta1 * (mi[j] as number) + (1 - this.beta1) * gj
        vi[j] = this.secondMoment(vi[j] as number, gj * gj)
        out[j] = (this.lr * (mi[j] as number)) / (Math.sqrt(vi[j] as number) + this.tau)
      }
      return out
    })
    const named = (prefix: string, values: Float64Array[]) => toWeights(base, values).map((t) => ({ ...t, name: prefix + t.name }))
    return { weights: applyDelta(base, step), state: [...named(M, m), ...named(V, v)], used }
  }
}

export class FedAdam extends ServerOptimiser {
  readonly name = 'fedadam'
  protected secondMoment(v: number, g2: number): number {
    return this.beta2 * v + (1 - this.beta2) * g2
  }
}

export class FedYogi extends ServerOptimiser {
  readonly name = 'fedyogi'
  protected secondMoment(v: number, g2: number): number {
    return v - (1 - this.beta2) * g2 * Math.sign(v - g2)
  }
}

export class FedAdagrad extends ServerOptimiser {
  readonly name = 'fedadagrad'
  protected secondMoment(v: number, g2: number): number {
    return v + g2
  }
}
