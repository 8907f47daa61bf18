// FedAvg (McMahan et al. 2017, Algorithm 1): the sample-weighted mean of the deltas, streamed so
// that memory holds one running sum whatever the number of updates. FedProx (Li et al. 2020)
// aggregates the same way; only its round configuration differs (the client's proximal μ).
import type { Address } from 'viem'
import { InvalidArgumentError } from '../errors.js'
import { applyDelta, inOrder, zerosLike } from './tensor-math.js'
import type { AggregateResult, ClientUpdate, RoundConfig, Strategy, Weights } from './types.js'

export interface WeightedMean {
  mean: Float64Array[]
  used: Address[]
  samples: number
}

/** The sample-weighted mean delta, summed in float64 in ascending device order. */
export async function weightedMeanDelta(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>): Promise<WeightedMean> {
  const sum = zerosLike(base)
  const used: Address[] = []
  let samples = 0
  for await (const update of inOrder(updates, base)) {
    const n = update.sampleCount
    for (let i = 0; i < sum.length; i++) {
      const acc = sum[i] as Float64Array
      const data = (update.delta[i] as { data: Float32Array }).data
      for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] as number) + n * (data[j] as number)
    }
    samples += n
    used.push(update.device)
  }
  for (const acc of sum) for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] as number) / samples
  return { mean: sum, used, samples }
}

export class FedAvg implements Strategy {
  readonly name: string = 'fedavg'

  configure(): RoundConfig {
    return { strategy: this.name, params: {} }
  }

  async aggregate(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>): Promise<AggregateResult> {
    const { mean, used } = await weightedMeanDelta(base, updates)
    return { weights: applyDelta(base, mean), state: [], used }
  }
}

export interface FedProxOptions {
  /** Weight of the proximal term μ/2·‖w − w_base‖² that clients add to their loss. */
  mu: number
}

export class FedProx extends FedAvg {
  override readonly name = 'fedprox'
  readonly mu: number

  constructor(options: FedProxOptions) {
    super()
    if (!(Number.isFinite(options.mu) && options.mu >= 0)) throw new InvalidArgumentError('mu', 'must be a finite number >= 0')
    this.mu = options.mu
  }

  override configure(): RoundConfig {
    return { strategy: this.name, params: { mu: this.mu } }
  }
}
