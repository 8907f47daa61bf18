// A fleet for mesh tests: owner, gateway and devices with certificates bound to their libp2p
// peer ids, and helpers to start real nodes on 127.0.0.1.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { pino, type Logger } from 'pino'
import { keccak256, toHex, type Address, type Hex } from 'viem'
import {
  contentId,
  createMemorySigner,
  encodeUpdate,
  fleetDomain,
  hashMessage,
  namedTensor,
  signDeviceCertificate,
  signUpdateAttestation,
  type FleetDomain,
  type Signed,
  type Signer,
  type UpdateSubmission,
} from '../../../protocols/index.js'
import {
  createMeshNode,
  MemoryBlobStore,
  type AbstractBlobStore,
  type MeshLimits,
  type MeshNode,
  type PeerCheck,
  type UpdateAdmit,
  type UpdateDecision,
  type UpdateRefusal,
  type VerifiedSubmission,
} from '../../../protocols/mesh/index.js'

export const logger: Logger = pino({ level: process.env.CW_TEST_LOG ?? 'silent' })

/** Lenient limits for tests: many connections from one host, short time-outs. */
export const TEST_LIMITS: MeshLimits = { inboundConnectionThreshold: 10_000, updateTimeoutMs: 10_000, blobFrameTimeoutMs: 10_000 }

export interface Fleet {
  fleet: Hex
  domain: FleetDomain
  owner: Signer
  gatewaySigner: Signer
}

export function makeFleet(): Fleet {
  return {
    fleet: keccak256(toHex(`fleet-${Math.random()}`)),
    domain: fleetDomain({ chainId: 31337, verifyingContract: '0x00000000000000000000000000000000000000c0' }),
    owner: createMemorySigner(),
    gatewaySigner: createMemorySigner(),
  }
}

export interface Device {
  signer: Signer
  privateKey: PrivateKey
  peerId: string
  certificate: Signed<'DeviceCertificate'>
}

export async function makeDevice(fleet: Fleet, privateKey?: PrivateKey): Promise<Device> {
  const key = privateKey ?? (await generateKeyPair('Ed25519'))
  const signer = createMemorySigner()
  const peerId = peerIdFromPrivateKey(key).toString()
  const certificate = await signDeviceCertificate({
    domain: fleet.domain,
    signer: fleet.owner,
    message: {
      device: signer.address,
      peerId,
      fleet: fleet.fleet,
      hardwareModel: 'test-board',
      keyStorage: 'memory',
      capabilities: [],
      validFrom: 0n,
      validUntil: 2n ** 40n,
      serial: 'T-1',
    },
  })
  return { signer, privateKey: key, peerId, certificate }
}

let counter = 0

/** A small signed submission from `device` for round `round`. */
export async function makeSubmission(fleet: Fleet, device: Device, round = 1n): Promise<UpdateSubmission & { attestationHash: Hex }> {
  counter++
  const update = encodeUpdate([namedTensor('w', 'float32', [4], new Float32Array([counter, 1, 2, 3]))], { encoding: 'float32' })
  const attestation = await signUpdateAttestation({
    domain: fleet.domain,
    signer: device.signer,
    message: {
      fleet: fleet.fleet,
      round,
      device: device.signer.address,
      baseModel: keccak256(toHex('base')),
      updateHash: contentId(update),
      sampleCount: 10n,
      metricsHash: keccak256(toHex('metrics')),
      time: BigInt(counter),
    },
  })
  return {
    attestation,
    certificate: device.certificate,
    update,
    attestationHash: hashMessage('UpdateAttestation', fleet.domain, attestation.message),
  }
}

/** A gateway store: what the handler accepted, keyed by attestation hash. */
export class AcceptedStore {
  readonly accepted = new Map<Hex, VerifiedSubmission>()
  calls = 0
  readonly handler = async (submission: VerifiedSubmission): Promise<UpdateDecision> => {
    this.calls++
    this.accepted.set(submission.attestationHash, submission)
    return { accepted: true, reason: '' }
  }
}

export interface StartGatewayParameters {
  fleet: Fleet
  handler: (submission: VerifiedSubmission) => Promise<UpdateDecision>
  admit?: UpdateAdmit
  checkPeer?: PeerCheck
  onRefusal?: (refusal: UpdateRefusal) => void
  privateKey?: PrivateKey
  port?: number
  modelStore?: AbstractBlobStore
  limits?: MeshLimits
  extraGateways?: readonly Address[]
}

export async function startGateway(p: StartGatewayParameters): Promise<MeshNode> {
  const node = await createMeshNode({
    role: 'gateway',
    privateKey: p.privateKey ?? (await generateKeyPair('Ed25519')),
    fleet: p.fleet.fleet,
    domain: p.fleet.domain,
    gateways: [p.fleet.gatewaySigner.address, ...(p.extraGateways ?? [])],
    modelStore: p.modelStore ?? new MemoryBlobStore(),
    recordStore: new MemoryBlobStore(),
    listen: [`/ip4/127.0.0.1/tcp/${p.port ?? 0}`],
    mdns: false,
    gateway: {
      owner: p.fleet.owner.address,
      signer: p.fleet.gatewaySigner,
      handler: p.handler,
      ...(p.admit === undefined ? {} : { admit: p.admit }),
      ...(p.checkPeer === undefined ? {} : { checkPeer: p.checkPeer }),
      ...(p.onRefusal === undefined ? {} : { onRefusal: p.onRefusal }),
    },
    limits: { ...TEST_LIMITS, ...p.limits },
    logger,
  })
  await node.start()
  return node
}

export async function startAgent(fleet: Fleet, device: Device, options: { modelStore?: AbstractBlobStore; limits?: MeshLimits; bootstrap?: string[] } = {}): Promise<MeshNode> {
  const node = await createMeshNode({
    role: 'agent',
    privateKey: device.privateKey,
    fleet: fleet.fleet,
    domain: fleet.domain,
    gateways: [fleet.gatewaySigner.address],
    modelStore: options.modelStore ?? new MemoryBlobStore(),
    recordStore: new MemoryBlobStore(),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    ...(options.bootstrap === undefined ? {} : { bootstrap: options.bootstrap }),
    limits: { ...TEST_LIMITS, ...options.limits },
    logger,
  })
  await node.start()
  return node
}

/** Waits until `check` holds, polling every `everyMs`; throws after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** Deterministic pseudo-random bytes (fast, so a 10 MB model costs nothing to make). */
export function pseudoRandomBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size)
  const words = new Uint32Array(out.buffer, 0, Math.floor(size / 4))
  let x = seed >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x >>> 0
  }
  return out
}
