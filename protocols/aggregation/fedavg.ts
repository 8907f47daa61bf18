// FedAvg (McMahan et al. 2017, Algorithm 1): the sample-weighted mean of the deltas, streamed so
// that memory holds one running sum whatever the number of updates. FedProx (Li et al. 2020)
// aggregates the same way; only its round configuration differs (the client's proximal μ).
import type { Address } from 'viem'
import { InvalidArgumentError } from '../errors.js'
import { applyDelta, inOrder } from './tensor-math.js'
import { createWeightedSum, type CreateWeightedSumOptions } from './weighted-sum.js'
import type { AggregateResult, ClientUpdate, RoundConfig, Strategy, Weights } from './types.js'

export interface WeightedMean {
  mean: Float64Array[]
  used: Address[]
  samples: number
}

/**
 * The sample-weighted mean delta, summed in float64 in ascending device order: per coordinate,
 * sum = sum + n·x for each update in turn, then sum / total samples. The whole model is one run
 * of coordinates, summed by the SIMD kernel where there is one (see weighted-sum.ts: identical
 * bits either way), and each value's finiteness is checked in the pass that sums it.
 */
export async function weightedMeanDelta(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>, options: CreateWeightedSumOptions = {}): Promise<WeightedMean> {
  const offsets: number[] = []
  let length = 0
  for (const t of base) {
    offsets.push(length)
    length += t.data.length
  }
  const sum = createWeightedSum(length, options)
  const used: Address[] = []
  let samples = 0
  const add = (update: ClientUpdate, tensor: number, data: Float32Array) => sum.add(offsets[tensor] as number, data, update.sampleCount) < 0
  for await (const update of inOrder(updates, base, add)) {
    samples += update.sampleCount
    used.push(update.device)
  }
  const mean = base.map((t, i) => {
    const acc = sum.read(offsets[i] as number, t.data.length)
    for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] as number) / samples
    return acc
  })
  return { mean, used, samples }
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
