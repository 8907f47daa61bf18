// A fleet on one machine for the agent daemon tests: the embedded EVM served over HTTP on
// 127.0.0.1, the fleet's contracts, a gateway authorised on chain, and devices with a file key
// store, a transport key, an owner-signed certificate registered on chain, a replay sensor over a
// CSV and a device.json written with writeDeviceBundle.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pino, type Logger } from 'pino'
import { keccak256, toHex, type Address, type Hex } from 'viem'
import { buildMlp, createMemorySigner, encodeModel, contentId, hashMessage, namedTensor, replaceInitializers, signDeviceCertificate, type Signer } from '../../../protocols/index.js'
import { certificateHex, loadTransportKey, openFileKeyStore, writeDeviceBundle, type DeviceBundleInput, type FileKeyStoreConfig } from '../../../hardware/index.js'
import { connectChain, deployFleet, registerDevices, serveChain, signerToAccount, startEmbeddedChain, type ChainConnection, type FleetContracts } from '../../../gateway/settlement/index.js'
import type { AgentConfigInput } from '../../../edge-agent/daemon/index.js'
import { createMeshNode, MemoryBlobStore, type MeshNode, type VerifiedSubmission } from '../../../protocols/mesh/index.js'

export const logger: Logger = pino({ level: process.env.CW_TEST_LOG ?? 'silent' })

/** Fast scrypt for test key files (the default costs seconds per open). */
export const TEST_SCRYPT = { n: 1024, r: 8, p: 1 }
export const FEATURES = 4
export const CLASSES = 3

export interface TestChain {
  url: string
  chainId: number
  connection: ChainConnection
  owner: Signer
  gateway: Signer
  fleet: Hex
  contracts: FleetContracts
  close(): Promise<void>
}

export async function startTestChain(options: { gateway?: Signer } = {}): Promise<TestChain> {
  const owner = createMemorySigner()
  const gateway = options.gateway ?? createMemorySigner()
  const chain = await startEmbeddedChain({ fund: [owner.address, gateway.address] })
  const served = await serveChain({ chain })
  const connection = await connectChain({ config: { rpcUrl: served.url, chainId: chain.chain.id, pollIntervalMs: 20 }, logger })
  const fleet = keccak256(toHex(`agent-fleet-${Math.random()}`))
  const contracts = await deployFleet(connection, { owner: signerToAccount({ signer: owner }), fleet, gateways: [gateway.address] })
  return {
    url: served.url,
    chainId: chain.chain.id,
    connection,
    owner,
    gateway,
    fleet,
    contracts,
    async close() {
      await connection.close()
      await served.close()
      await chain.close()
    },
  }
}

export function fleetFileOf(chain: TestChain, gatewayMultiaddrs: string[] = []) {
  return {
    version: 1 as const,
    fleet: chain.fleet,
    name: 'agent test fleet',
    chain: { rpcUrl: chain.url, chainId: chain.chainId, confirmations: 1 },
    contracts: { registry: chain.contracts.registry, ledger: chain.contracts.ledger, rewards: chain.contracts.rewards, deployedAt: chain.contracts.deployedAt.toString() },
    owner: chain.owner.address,
    gateways: [{ address: chain.gateway.address, multiaddrs: gatewayMultiaddrs }],
    domain: { name: 'Counterweight' as const, version: '1' as const, chainId: chain.chainId, verifyingContract: chain.contracts.registry },
  }
}

/** A small MLP for FEATURES inputs and CLASSES classes. */
export function testModel(seed: number): { bytes: Uint8Array; hash: Hex } {
  const bytes = encodeModel(buildMlp({ inputs: FEATURES, hidden: [8], classes: CLASSES, seed }))
  return { bytes, hash: contentId(bytes) }
}

export const HIDDEN = 8

/**
 * The test MLP with hand-set weights, so that its accuracy on clusterCsv's data is known: hidden
 * unit k (k < CLASSES) sums the features that mark cluster k (feature i marks cluster i % CLASSES),
 * and `readout[c][k]` is hidden unit k's weight in class c's logit (`bias[c]` is added).
 */
export function clusterModel(readout: readonly (readonly number[])[], bias: readonly number[] = []): { bytes: Uint8Array; hash: Hex } {
  const fc1 = new Float32Array(HIDDEN * FEATURES)
  for (let i = 0; i < FEATURES; i++) fc1[(i % CLASSES) * FEATURES + i] = 1
  const fc2 = new Float32Array(CLASSES * HIDDEN)
  const fc2Bias = new Float32Array(CLASSES)
  for (let c = 0; c < CLASSES; c++) {
    for (let k = 0; k < CLASSES; k++) fc2[c * HIDDEN + k] = readout[c]?.[k] ?? 0
    fc2Bias[c] = bias[c] ?? 0
  }
  const model = replaceInitializers(buildMlp({ inputs: FEATURES, hidden: [HIDDEN], classes: CLASSES, seed: 1 }), [
    namedTensor('fc1.weight', 'float32', [HIDDEN, FEATURES], fc1),
    namedTensor('fc1.bias', 'float32', [HIDDEN], new Float32Array(HIDDEN)),
    namedTensor('fc2.weight', 'float32', [CLASSES, HIDDEN], fc2),
    namedTensor('fc2.bias', 'float32', [CLASSES], fc2Bias),
  ])
  const bytes = encodeModel(model)
  return { bytes, hash: contentId(bytes) }
}

/** A logger that keeps every line it writes (as parsed JSON), for tests that assert what was logged. */
export function recordingLogger(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const stream = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }
  return { logger: pino({ level }, stream), lines }
}

/** Rows of FEATURES features and a label: three separable clusters. */
export function clusterCsv(rows: number, seed = 1): string {
  let x = seed >>> 0 || 1
  const rand = (): number => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x1_0000_0000
  }
  const lines = [[...Array.from({ length: FEATURES }, (_, i) => `f${i}`), 'label'].join(',')]
  for (let r = 0; r < rows; r++) {
    const label = r % CLASSES
    const features = Array.from({ length: FEATURES }, (_, i) => ((i % CLASSES === label ? 1 : 0) + (rand() - 0.5) * 0.4).toFixed(4))
    lines.push([...features, String(label)].join(','))
  }
  return `${lines.join('\n')}\n`
}

export interface TestDevice {
  dir: string
  file: string
  address: Address
  peerId: string
  dataDir: string
  statusFile: string
  stateFile: string
}

export interface MakeDeviceParameters {
  chain: TestChain
  dir: string
  bootstrap: string[]
  rows?: number
  /** The replay's rate in rows per second ('max': as fast as the agent reads). */
  speed?: number | 'max'
  /** Play the recording again and again (inference goes on for the whole test). */
  loop?: boolean
  agent?: AgentConfigInput
}

/** A device: keys, certificate (registered on chain), its CSV and device.json. */
export async function makeDevice(p: MakeDeviceParameters): Promise<TestDevice> {
  const { chain, dir } = p
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'password'), 'device password\n', { mode: 0o600 })
  const keyStoreConfig: FileKeyStoreConfig = { kind: 'file', directory: 'keys', password: { file: 'password' }, scrypt: TEST_SCRYPT }
  const store = await openFileKeyStore({ ...keyStoreConfig, directory: join(dir, 'keys'), password: { file: join(dir, 'password') } })
  const key = await store.generate('device')
  await store.close()
  const transport = await loadTransportKey({ dir: join(dir, 'transport') })
  const peerId = peerIdFromPrivateKey(transport).toString()
  const fleetFile = fleetFileOf(chain)
  const domain = fleetFile.domain
  const certificate = await signDeviceCertificate({
    domain,
    signer: chain.owner,
    message: {
      device: key.address,
      peerId,
      fleet: chain.fleet,
      hardwareModel: 'test-board',
      keyStorage: 'file',
      capabilities: [],
      validFrom: 0n,
      validUntil: 2n ** 40n,
      serial: `T-${key.address.slice(2, 8)}`,
    },
  })
  await registerDevices(chain.connection, {
    owner: signerToAccount({ signer: chain.owner }),
    registry: chain.contracts.registry,
    devices: [{ device: key.address, certificateHash: hashMessage('DeviceCertificate', domain, certificate.message) }],
  })
  await writeFile(join(dir, 'data.csv'), clusterCsv(p.rows ?? 240))
  const bundle: DeviceBundleInput = {
    version: 1,
    fleet: fleetFile,
    device: key.address,
    peerId,
    serial: certificate.message.serial,
    certificate: certificateHex(certificate),
    keyStore: keyStoreConfig,
    keyLabel: 'device',
    transportKeyDir: 'transport',
    bootstrap: p.bootstrap,
    sensors: [
      {
        driver: 'replay',
        id: 'clusters',
        file: 'data.csv',
        rate: 50,
        speed: p.speed ?? 'max',
        loop: p.loop ?? false,
        channels: [...Array.from({ length: FEATURES }, (_, i) => ({ column: `f${i}` })), { column: 'label' }],
      },
    ],
    agent: { mdns: false, statusIntervalMs: 250, logLevel: 'debug', attestations: { perMinute: 600 }, training: { minSamples: 16, minFreeMemoryBytes: 0 }, ...p.agent },
  }
  const file = join(dir, 'device.json')
  await writeDeviceBundle(file, bundle)
  const dataDir = join(dir, 'agent-data')
  return { dir, file, address: key.address, peerId, dataDir, statusFile: join(dataDir, 'status.json'), stateFile: join(dataDir, 'state.json') }
}

/** Waits until `check` holds, polling; throws after `timeoutMs`. */
export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/**
 * A gateway's mesh node for the fleet of `chain`, not started: it serves `models` and accepts every
 * update with a signed receipt, keeping the verified submissions.
 */
export async function testGatewayNode(
  chain: TestChain,
  models: readonly { hash: Hex; bytes: Uint8Array }[],
  log: Logger = logger,
  decide: (submission: VerifiedSubmission) => { accepted: boolean; reason: string } = () => ({ accepted: true, reason: '' }),
): Promise<{ gateway: MeshNode; submissions: VerifiedSubmission[] }> {
  const store = new MemoryBlobStore()
  for (const m of models) await store.put(m.hash, m.bytes)
  const submissions: VerifiedSubmission[] = []
  const gateway = await createMeshNode({
    role: 'gateway',
    privateKey: await generateKeyPair('Ed25519'),
    fleet: chain.fleet,
    domain: { name: 'Counterweight', version: '1', chainId: chain.chainId, verifyingContract: chain.contracts.registry },
    gateways: [chain.gateway.address],
    modelStore: store,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    gateway: {
      owner: chain.owner.address,
      signer: chain.gateway,
      handler: async (submission) => {
        submissions.push(submission)
        return decide(submission)
      },
    },
    limits: { inboundConnectionThreshold: 10_000 },
    logger: log,
  })
  return { gateway, submissions }
}
