// Fixtures for the provisioning tests: a local JSON-RPC node (`hardhat node` on 127.0.0.1) or the
// embedded EVM, funded accounts, file key stores with a cheap scrypt cost, and a fixed hardware
// profile so that certificates do not depend on the machine the tests run on.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { parseEther, type Address, type LocalAccount } from 'viem'
import { createMemorySigner } from '../../protocols/index.js'
import { connectChain, openKeyStore, signerToAccount, walletFor, type ChainConnection, type FileKeyStoreConfig, type HardwareProfile, type KeyStoreConfig } from '../../hardware/index.js'
import { HARDHAT_KEYS, startHardhatNode, type HardhatNode } from '../gateway/settlement/helpers/hardhat-node.js'

export interface Tap {
  teardown(fn: () => unknown): void
}

export const PASSWORD_ENV = 'CW_TEST_KEY_PASSWORD'
export const PIN_ENV = 'CW_TEST_PIN'
export const PIN = '135790'
export const ENV = { [PASSWORD_ENV]: 'test password', [PIN_ENV]: PIN }

/** Cheap scrypt for test key files; real stores use the default cost. */
export const FAST_SCRYPT = { n: 16, r: 8, p: 1 }

export const fileStore = (directory: string): FileKeyStoreConfig => ({ kind: 'file', directory, password: { env: PASSWORD_ENV }, scrypt: FAST_SCRYPT })

export const PROFILE: HardwareProfile = {
  board: { kind: 'raspberry-pi', model: 'Raspberry Pi 5 Model B Rev 1.0', vendor: 'Raspberry Pi', compatible: ['raspberrypi,5-model-b', 'brcm,bcm2712'], l4tRelease: null },
  cpu: { arch: 'arm64', cores: 4, model: 'Cortex-A76', simd: ['neon'] },
  memory: { totalBytes: 8_000_000_000, availableBytes: null },
  accelerators: [],
}

export const quietLogger = () => pino({ level: process.env.CW_TEST_LOG ?? 'silent' })

export async function tempDir(t: Tap, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `cw-${prefix}-`))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export interface TestChain {
  connection: ChainConnection
  /** A funded account (hardhat's #0, or funded at genesis on the embedded EVM). */
  funder: LocalAccount
  node: HardhatNode | undefined
  rpcUrl: string | undefined
  fund(address: Address): Promise<void>
  /** The owner's transaction count: proof that a run sent nothing. */
  nonce(address: Address): Promise<number>
}

/** A `hardhat node` on 127.0.0.1 (`node`) or the embedded EVM in this process (`embedded`). */
export async function startChain(t: Tap, kind: 'node' | 'embedded'): Promise<TestChain> {
  const funder = signerToAccount({ signer: createMemorySigner({ privateKey: HARDHAT_KEYS[0] }) })
  const node = kind === 'node' ? await startHardhatNode() : undefined
  let connection: ChainConnection
  try {
    connection = await connectChain({
      config: { ...(node === undefined ? {} : { rpcUrl: node.url }), chainId: 31337, pollIntervalMs: 20 },
      fund: [funder.address],
      logger: quietLogger(),
    })
  } catch (err) {
    await node?.stop()
    throw err
  }
  t.teardown(async () => {
    await connection.close()
    await node?.stop()
  })
  const wallet = walletFor(connection, funder)
  return {
    connection,
    funder,
    node,
    rpcUrl: node?.url,
    async fund(address) {
      const hash = await wallet.sendTransaction({ account: funder, chain: connection.chain, to: address, value: parseEther('10') })
      await connection.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 })
    },
    nonce: (address) => connection.publicClient.getTransactionCount({ address }),
  }
}

/** Generates a key in a store and returns its address. */
export async function generateKey(config: KeyStoreConfig, label: string): Promise<Address> {
  const store = await openKeyStore(config, { env: ENV })
  try {
    return (await store.generate(label)).address
  } finally {
    await store.close()
  }
}

/** Every file under `dir` with its content and modification time: a run that changes nothing leaves this equal. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, entry.name)
      if (entry.isDirectory()) await walk(p)
      else if (entry.name !== 'lock') out[p.slice(dir.length)] = `${(await stat(p)).mtimeMs}:${await readFile(p, 'utf8')}`
    }
  }
  await walk(dir)
  return out
}

export async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  return { code: 'DID_NOT_REJECT' }
}
