// The embedded default: an in-process EVM (Hardhat's EDR, a Rust EVM behind a Node-API addon)
// answering JSON-RPC through a viem custom transport, so that a first run needs no node. It mines
// one block per transaction. Its state lives in memory, and optionally in a state file that a
// restart replays.
// The addon loads when a chain starts, not with hardware/: most commands and the agent never need it.
import type { EdrContext, Provider } from '@nomicfoundation/edr'
import { defineChain, hexToBytes, custom, type Address, type Chain, type EIP1193RequestFn, type Transport } from 'viem'
import type { Logger } from 'pino'
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { z } from 'zod'
import { EmbeddedChainError } from '../errors.js'
import { EMBEDDED_ACCOUNT_BALANCE, EMBEDDED_BLOCK_GAS_LIMIT, EMBEDDED_CHAIN_ID } from './constants.js'

export interface StartEmbeddedChainParameters {
  chainId?: number
  /** Accounts that start with EMBEDDED_ACCOUNT_BALANCE wei (the gateway's and owner's keys). */
  fund?: readonly Address[]
  logger?: Logger
  /** An L1 hardfork name (`cancun`, `prague`, …); the latest EDR knows by default. */
  hardfork?: string
  /**
   * A file in the data directory that keeps the chain across restarts: the genesis, then every
   * state-changing request that succeeded (raw transactions, mined blocks, time shifts), replayed
   * on the next start. Absent: the chain lives in memory only.
   */
  stateFile?: string
}

/** The requests that change the chain's state, and so are recorded in a state file. */
const RECORDED_METHODS = ['eth_sendRawTransaction', 'evm_mine', 'hardhat_mine', 'evm_increaseTime', 'evm_setNextBlockTimestamp', 'hardhat_setBalance'] as const

export interface EmbeddedChain {
  readonly chain: Chain
  readonly transport: Transport
  /** JSON-RPC straight to the EVM, for tools and tests (`evm_mine`, `evm_increaseTime`). */
  request(method: string, params?: unknown[]): Promise<unknown>
  close(): Promise<void>
}

// EDR wants one context per process ("Should only be called once!"), so it is created lazily and
// shared; each chain is its own provider on it.
let context: Promise<EdrContext> | undefined
async function edrContext(): Promise<EdrContext> {
  context ??= (async () => {
    const { EdrContext, L1_CHAIN_TYPE, l1ProviderFactory } = await import('@nomicfoundation/edr')
    const c = new EdrContext()
    await c.registerProviderFactory(L1_CHAIN_TYPE, l1ProviderFactory())
    return c
  })()
  return context
}

interface JsonRpcResponse {
  result?: unknown
  error?: { code: number; message: string; data?: unknown }
}

/** An RPC error as EIP-1193 reports it: viem reads `code`, `message` and `data`. */
class ProviderRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message)
  }
}

/** The first line of a state file: what the chain's genesis was, so that a replay starts from it. */
const headerSchema = z.strictObject({
  version: z.literal(1),
  chainId: z.number().int().positive(),
  hardfork: z.string().regex(/^[a-z]{3,20}$/),
  genesisTime: z.number().int().positive(),
  fund: z.array(z.string().regex(/^0x[0-9a-fA-F]{40}$/)).max(1000),
})
/** Each later line: one state-changing request that succeeded, with the timestamp of the block it ended in. */
const entrySchema = z.strictObject({ method: z.enum(RECORDED_METHODS), params: z.array(z.unknown()), timestamp: z.number().int().nonnegative() })

type Header = z.infer<typeof headerSchema>

async function readState(file: string): Promise<{ header: Header; entries: z.infer<typeof entrySchema>[] } | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new EmbeddedChainError(`cannot read the state file: ${(err as Error).message}`, { cause: err })
  }
  // A crash can cut the last line short; what it recorded had not been answered yet, so it is dropped.
  const lines = text.split('\n').filter((l) => l.length > 0)
  const parse = <T>(schema: z.ZodType<T>, line: string | undefined, index: number): T | undefined => {
    try {
      const result = schema.safeParse(JSON.parse(line ?? ''))
      if (result.success) return result.data
    } catch {
      /* reported below */
    }
    if (index === lines.length - 1 && index > 0) return undefined
    throw new EmbeddedChainError(`state file line ${index + 1} is malformed`)
  }
  const header = parse(headerSchema, lines[0], 0)
  if (header === undefined) throw new EmbeddedChainError('state file line 1 is malformed')
  const entries = lines.slice(1).flatMap((line, i) => {
    const entry = parse(entrySchema, line, i + 1)
    return entry === undefined ? [] : [entry]
  })
  return { header, entries }
}

export async function startEmbeddedChain(parameters: StartEmbeddedChainParameters = {}): Promise<EmbeddedChain> {
  const stateFile = parameters.stateFile
  const saved = stateFile === undefined ? undefined : await readState(stateFile)
  const chainId = parameters.chainId ?? saved?.header.chainId ?? EMBEDDED_CHAIN_ID
  if (saved !== undefined && saved.header.chainId !== chainId)
    throw new EmbeddedChainError(`the state file holds chain ${saved.header.chainId}, not ${chainId}`)
  let provider: Provider | undefined
  let header: Header
  try {
    const { ContractDecoder, L1_CHAIN_TYPE, l1GenesisState, l1HardforkFromString, l1HardforkLatest, l1HardforkToString, MineOrdering } = await import('@nomicfoundation/edr')
    const hardfork = saved !== undefined ? l1HardforkFromString(saved.header.hardfork) : parameters.hardfork === undefined ? l1HardforkLatest() : l1HardforkFromString(parameters.hardfork)
    header = saved?.header ?? {
      version: 1,
      chainId,
      hardfork: l1HardforkToString(hardfork),
      genesisTime: Math.floor(Date.now() / 1000),
      fund: [...(parameters.fund ?? [])],
    }
    const genesis = [
      ...l1GenesisState(hardfork),
      ...header.fund.map((a) => ({ address: hexToBytes(a as Address), balance: EMBEDDED_ACCOUNT_BALANCE })),
    ]
    provider = await (await edrContext()).createProvider(
      L1_CHAIN_TYPE,
      {
        allowBlocksWithSameTimestamp: false,
        allowUnlimitedContractSize: false,
        // eth_call reports a revert as an error, as every node does; a reverted transaction is mined.
        bailOnCallFailure: true,
        bailOnTransactionFailure: false,
        chainId: BigInt(chainId),
        coinbase: new Uint8Array(20),
        defaultTransactionGasLimit: 16_777_216n, // EIP-7825 caps a transaction at 2^24 gas
        genesisState: genesis,
        hardfork: l1HardforkToString(hardfork),
        initialBaseFeePerGas: 1_000_000_000n,
        minGasPrice: 0n,
        mining: { autoMine: true, blockGasLimit: EMBEDDED_BLOCK_GAS_LIMIT, memPool: { order: MineOrdering.Priority } },
        network: { genesisBlockGasLimit: EMBEDDED_BLOCK_GAS_LIMIT, genesisBlockTime: BigInt(header.genesisTime) },
        networkId: BigInt(chainId),
        observability: {},
        ownedAccounts: [],
        precompileOverrides: [],
      },
      { enable: false, decodeConsoleLogInputsCallback: () => [], printLineCallback: () => undefined },
      { subscriptionCallback: () => undefined },
      new ContractDecoder(),
    )
  } catch (err) {
    if (err instanceof EmbeddedChainError) throw err
    throw new EmbeddedChainError('cannot start the EDR provider', { cause: err })
  }
  const edr = provider
  let closed = false
  let nextId = 1

  const raw = async (method: string, params: unknown[]): Promise<unknown> => {
    const response = await edr.handleRequest(JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }))
    const data: unknown = response.data
    const body = (typeof data === 'string' ? JSON.parse(data) : data) as JsonRpcResponse
    if (body.error !== undefined) throw new ProviderRpcError(body.error.code, body.error.message, body.error.data)
    return body.result
  }
  const latestTimestamp = async (): Promise<number> => {
    const block = (await raw('eth_getBlockByNumber', ['latest', false])) as { timestamp: string }
    return Number(BigInt(block.timestamp))
  }

  // Replay what the state file recorded, each block at its recorded time, so that settlement times
  // (and with them claim expiries) come back as they were.
  if (saved !== undefined) {
    for (const [i, entry] of saved.entries.entries()) {
      try {
        if (entry.method === 'eth_sendRawTransaction' || entry.method === 'evm_mine') {
          if (entry.timestamp > (await latestTimestamp())) await raw('evm_setNextBlockTimestamp', [entry.timestamp])
        }
        await raw(entry.method, entry.params)
      } catch (err) {
        throw new EmbeddedChainError(`cannot replay state file line ${i + 2} (${entry.method})`, { cause: err })
      }
    }
    parameters.logger?.info({ chainId, replayed: saved.entries.length }, 'embedded chain state restored')
  }
  let appending: Promise<void> = Promise.resolve()
  if (stateFile !== undefined && saved === undefined) {
    await mkdir(dirname(stateFile), { recursive: true, mode: 0o700 })
    await writeFile(stateFile, `${JSON.stringify(header)}\n`, { mode: 0o600 })
  }
  parameters.logger?.info({ chainId, stateFile }, 'embedded chain started')

  const request = async (method: string, params: unknown[] = []): Promise<unknown> => {
    if (closed) throw new ProviderRpcError(4900, 'the embedded chain is closed')
    const result = await raw(method, params)
    if (stateFile !== undefined && (RECORDED_METHODS as readonly string[]).includes(method)) {
      const line = `${JSON.stringify({ method, params, timestamp: await latestTimestamp() })}\n`
      appending = appending.then(() => appendFile(stateFile, line))
      await appending
    }
    return result
  }
  const chain = defineChain({
    id: chainId,
    name: 'Counterweight embedded EVM',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [] } },
  })
  return {
    chain,
    transport: custom({ request: (({ method, params }) => request(method, params as unknown[] | undefined)) as EIP1193RequestFn }),
    request,
    async close() {
      closed = true
      await appending
    },
  }
}
