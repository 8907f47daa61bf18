// The two chains every settlement test runs against: the embedded in-process EVM and a
// separately started `hardhat node`. Each gives a connection plus funded owner and gateway
// accounts whose keys are protocols Signers (the same path a key file or a secure element takes).
import { pino } from 'pino'
import type { LocalAccount } from 'viem'
import { createMemorySigner } from '../../../../protocols/index.js'
import { connectChain, signerToAccount, type ChainConnection } from '../../../../gateway/settlement/index.js'
import { HARDHAT_KEYS, startHardhatNode, type HardhatNode } from './hardhat-node.js'

export type BackendName = 'embedded' | 'node'

export interface Backend {
  readonly name: BackendName
  readonly connection: ChainConnection
  readonly owner: LocalAccount
  readonly gateway: LocalAccount
  readonly stranger: LocalAccount
  /** The node, for `node`. */
  readonly node: HardhatNode | undefined
  /** Mines `blocks` empty blocks. */
  mine(blocks: number): Promise<void>
  /** Moves the chain's clock forward. */
  increaseTime(seconds: number): Promise<void>
  stop(): Promise<void>
}

export const quietLogger = () => pino({ enabled: false })

export async function startBackend(name: BackendName, options: { confirmations?: number } = {}): Promise<Backend> {
  const signers = HARDHAT_KEYS.map((privateKey) => createMemorySigner({ privateKey }))
  const [owner, gateway, stranger] = signers.map((signer) => signerToAccount({ signer })) as [LocalAccount, LocalAccount, LocalAccount]
  const node = name === 'node' ? await startHardhatNode() : undefined
  const confirmations = options.confirmations ?? 1
  let connection: ChainConnection
  try {
    connection = await connectChain({
      config: { ...(node === undefined ? {} : { rpcUrl: node.url }), chainId: 31337, confirmations, pollIntervalMs: 50 },
      fund: [owner.address, gateway.address, stranger.address],
      logger: quietLogger(),
    })
  } catch (err) {
    await node?.stop()
    throw err
  }
  const rpc = (method: string, params: unknown[]) =>
    connection.publicClient.request({ method, params } as unknown as Parameters<typeof connection.publicClient.request>[0]) // test-only raw call; viem types only standard methods
  return {
    name,
    connection,
    owner,
    gateway,
    stranger,
    node,
    async mine(blocks) {
      await rpc('hardhat_mine', [`0x${blocks.toString(16)}`])
    },
    async increaseTime(seconds) {
      await rpc('evm_increaseTime', [seconds])
      await rpc('evm_mine', [])
    },
    async stop() {
      await connection.close()
      await node?.stop()
    },
  }
}
