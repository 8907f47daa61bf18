import type { Address } from 'viem'
import type { NamedTensor } from '../tensors/named-tensor.js'

export type Weights = readonly NamedTensor<'float32'>[]

/** One device's contribution to a round: its weight delta and the samples it trained on. */
export interface ClientUpdate {
  readonly device: Address
  readonly sampleCount: number
  /** Delta from the round's base model, tensor by tensor (same names and shapes as the base). */
  readonly delta: Weights
}

/** What a round announces about its strategy (RoundAnnouncement.strategy and .params). */
export interface RoundConfig {
  readonly strategy: string
  readonly params: Readonly<Record<string, number>>
}

export interface AggregateResult {
  /** The new model weights. */
  readonly weights: NamedTensor<'float32'>[]
  /** Server optimiser state to carry into the next round (empty for stateless strategies). */
  readonly state: NamedTensor<'float32'>[]
  /** Devices whose updates went into the result (all, or those Krum selected). */
  readonly used: readonly Address[]
}

/**
 * A strategy in the style of Flower's: configure the round, then aggregate. Aggregation is a
 * pure function of (base, state, updates in ascending device order), so auditors can recompute it
 * bit for bit. Updates are consumed as a stream; averaging strategies hold one running sum.
 */
export interface Strategy {
  readonly name: string
  configure(): RoundConfig
  aggregate(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>, state?: Weights): Promise<AggregateResult>
}
