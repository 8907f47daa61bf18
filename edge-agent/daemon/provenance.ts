// Model provenance for the agent: a model runs or trains here only when the fleet's RoundLedger
// says an authorised gateway settled it (protocols/contracts isSettledModel). Settled answers are
// kept (a settlement is final); "not settled" and chain failures are asked again next time.
import type { Logger } from 'pino'
import { createPublicClient, defineChain, http, type Address, type Hex, type PublicClient } from 'viem'
import { ContractReadError, isSettledModel } from '../../protocols/index.js'
import { CHAIN_TIMEOUT_MS } from './constants.js'

export type ProvenanceVerdict =
  | { settled: true; round: bigint }
  | { settled: false; reason: 'not-settled' }
  | { settled: false; reason: 'chain-unavailable' | 'wrong-chain'; detail: string }

export interface ModelProvenanceParameters {
  rpcUrl: string
  chainId: number
  ledger: Address
  logger: Logger
}

const MAX_SETTLED_CACHE = 256

export class ModelProvenance {
  readonly client: PublicClient
  readonly #p: ModelProvenanceParameters
  readonly #log: Logger
  readonly #settled = new Map<Hex, bigint>()
  #chainChecked = false

  constructor(parameters: ModelProvenanceParameters) {
    this.#p = parameters
    this.#log = parameters.logger.child({ component: 'agent:provenance' })
    const chain = defineChain({
      id: parameters.chainId,
      name: `chain ${parameters.chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [parameters.rpcUrl] } },
    })
    this.client = createPublicClient({ chain, transport: http(parameters.rpcUrl, { retryCount: 1, timeout: CHAIN_TIMEOUT_MS }) })
  }

  async check(model: Hex, options: { signal?: AbortSignal } = {}): Promise<ProvenanceVerdict> {
    const key = model.toLowerCase() as Hex
    const known = this.#settled.get(key)
    if (known !== undefined) return { settled: true, round: known }
    try {
      if (!this.#chainChecked) {
        const id = await this.client.getChainId()
        if (id !== this.#p.chainId) return { settled: false, reason: 'wrong-chain', detail: `the RPC serves chain ${id}, the fleet is on ${this.#p.chainId}` }
        this.#chainChecked = true
      }
      const result = await isSettledModel(this.client, { ledger: this.#p.ledger, model: key, ...(options.signal === undefined ? {} : { signal: options.signal }) })
      if (!result.settled) return { settled: false, reason: 'not-settled' }
      if (this.#settled.size >= MAX_SETTLED_CACHE) this.#settled.delete(this.#settled.keys().next().value as Hex)
      this.#settled.set(key, result.round)
      return { settled: true, round: result.round }
    } catch (err) {
      options.signal?.throwIfAborted()
      const detail = err instanceof ContractReadError && err.cause instanceof Error ? err.cause.message.split('\n')[0] ?? err.message : err instanceof Error ? err.message : String(err)
      this.#log.warn({ model: key, err: detail }, 'cannot reach the chain to check a model')
      return { settled: false, reason: 'chain-unavailable', detail }
    }
  }
}
