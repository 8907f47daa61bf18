// One entry point for any EVM chain: a JSON-RPC URL (its chain id checked against the
// configuration), or, with no URL, the embedded in-process EVM.
import { createPublicClient, defineChain, http, type Address, type Chain, type PublicClient, type Transport } from 'viem'
import { pino, type Logger } from 'pino'
import { z } from 'zod'
import { ChainIdMismatchError, SettlementConfigError } from '../errors.js'
import { DEFAULT_CONFIRMATIONS, EMBEDDED_CHAIN_ID, POLL_INTERVAL_MS, RPC_TIMEOUT_MS } from './constants.js'
import { startEmbeddedChain, type EmbeddedChain } from './embedded-chain.js'

export const chainConfigSchema = z.strictObject({
  /** A JSON-RPC URL (http or https); absent: the embedded EVM. */
  rpcUrl: z.url({ protocol: /^https?$/ }).optional(),
  chainId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).default(EMBEDDED_CHAIN_ID),
  confirmations: z.number().int().min(1).max(64).default(DEFAULT_CONFIRMATIONS),
  pollIntervalMs: z.number().int().min(10).max(60_000).default(POLL_INTERVAL_MS),
  rpcTimeoutMs: z.number().int().min(100).max(600_000).default(RPC_TIMEOUT_MS),
  /** The embedded EVM's hardfork (`cancun`, `prague`, …); the latest by default. Ignored with a URL. */
  embeddedHardfork: z.string().regex(/^[a-z]{3,20}$/).optional(),
  /** Where the embedded EVM keeps its chain across restarts (a file in the data directory). Ignored with a URL. */
  embeddedStateFile: z.string().min(1).optional(),
})

export type ChainConfig = z.input<typeof chainConfigSchema>
export type ResolvedChainConfig = z.output<typeof chainConfigSchema>

export interface ChainConnection {
  readonly config: ResolvedChainConfig
  readonly chain: Chain
  readonly transport: Transport
  readonly publicClient: PublicClient
  /** Set when no URL was configured. */
  readonly embedded: EmbeddedChain | undefined
  readonly logger: Logger
  close(): Promise<void>
}

export interface ConnectChainParameters {
  config: ChainConfig
  /** Accounts the embedded EVM funds at genesis (ignored for a URL). */
  fund?: readonly Address[]
  logger?: Logger
  signal?: AbortSignal
}

/** Validates a chain configuration; errors name the field (`chain.rpcUrl`, …). */
export function parseChainConfig(value: unknown): ResolvedChainConfig {
  const result = chainConfigSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    const field = ['chain', ...(issue?.path ?? []).map(String)].join('.')
    throw new SettlementConfigError(field, issue?.message ?? 'invalid')
  }
  return result.data
}

export async function connectChain(parameters: ConnectChainParameters): Promise<ChainConnection> {
  const config = parseChainConfig(parameters.config)
  const logger = (parameters.logger ?? pino({ enabled: false })).child({ component: 'chain' })
  parameters.signal?.throwIfAborted()
  let chain: Chain
  let transport: Transport
  let embedded: EmbeddedChain | undefined
  if (config.rpcUrl === undefined) {
    embedded = await startEmbeddedChain({
      chainId: config.chainId,
      fund: parameters.fund ?? [],
      logger,
      ...(config.embeddedHardfork === undefined ? {} : { hardfork: config.embeddedHardfork }),
      ...(config.embeddedStateFile === undefined ? {} : { stateFile: config.embeddedStateFile }),
    })
    chain = embedded.chain
    transport = embedded.transport
  } else {
    chain = defineChain({
      id: config.chainId,
      name: `chain ${config.chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [config.rpcUrl] } },
    })
    // Retries are the settlement loop's business: it re-reads the chain before each attempt.
    transport = http(config.rpcUrl, { retryCount: 0, timeout: config.rpcTimeoutMs })
  }
  const publicClient = createPublicClient({ chain, transport, pollingInterval: config.pollIntervalMs })
  const actual = await publicClient.getChainId()
  if (actual !== config.chainId) {
    await embedded?.close()
    throw new ChainIdMismatchError(config.chainId, actual)
  }
  logger.info({ chainId: actual, embedded: embedded !== undefined }, 'chain connected')
  return {
    config,
    chain,
    transport,
    publicClient,
    embedded,
    logger,
    async close() {
      await embedded?.close()
    },
  }
}
