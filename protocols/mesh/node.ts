// One factory for both roles. An agent and a gateway run the same stack (libp2p 3: TCP, Noise,
// Yamux, identify, ping, gossipsub 17, bootstrap and mDNS discovery), the same gossip validators
// and the blob transfer; a gateway also serves the update protocol. The transport key is a
// software key the caller loads from the node's data directory (it is not the device key).
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { identify, type Identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import type { Logger } from 'pino'
import { isAddressEqual, type Address, type Hex } from 'viem'
import { PROTOCOL_MODEL, PROTOCOL_RECORD } from '../constants.js'
import type { Signer } from '../crypto/signer.js'
import type { FleetDomain } from '../eip712/domain.js'
import type { Signed } from '../eip712/schemas.js'
import { BlobNotFoundError, InvalidArgumentError } from '../errors.js'
import { decodeSigned, encodeSigned, type UpdateSubmission } from '../wire/codec.js'
import type { AbstractBlobStore } from './blob-store.js'
import { BlobTransfer, type FetchBlobOptions, type FetchBlobReturnType } from './blob-transfer.js'
import { GOSSIP_INVALID_MESSAGE_DECAY, GOSSIP_IP_COLOCATION_WEIGHT, GOSSIP_INVALID_MESSAGE_WEIGHT, GOSSIP_MAX_DATA_BYTES, MAX_CONNECTIONS, MAX_RECORD_BYTES } from './constants.js'
import { MAX_MODEL_BYTES } from '../model/constants.js'
import { decodeModelAvailability, encodeModelAvailability, fleetTopics, topicValidators, type FleetTopics, type ModelAvailability } from './gossip.js'
import { submitUpdate, UpdateService, type PeerCheck, type UpdateAdmit, type UpdateHandler, type UpdateRefusal } from './update-protocol.js'

export type MeshRole = 'agent' | 'gateway'

/** Limits a deployment (or a test) may tighten; defaults come from constants.ts. */
export interface MeshLimits {
  maxConnections?: number
  /** libp2p refuses more new connections per second from one host (5 by default). */
  inboundConnectionThreshold?: number
  updateTimeoutMs?: number
  blobFrameTimeoutMs?: number
  maxUpdateStreamsPerPeer?: number
  updateHeaderTimeoutMs?: number
  maxUnverifiedUpdateStreams?: number
  maxKnownPeerUpdateStreams?: number
  maxVerifiedUpdateStreams?: number
  maxUpdateBufferedBytes?: number
  maxUpdateHandlers?: number
  maxBlobStreamsPerPeer?: number
  maxBlobStreamsTotal?: number
}

/** The gateway side of the update protocol. */
export interface MeshGatewayInit {
  /** The fleet owner, who signs device certificates. */
  owner: Address
  /** The gateway's key: signs receipts. */
  signer: Signer
  handler: UpdateHandler
  /** Decides from a verified header, before the update is read (see UpdateAdmit). */
  admit?: UpdateAdmit
  checkPeer?: PeerCheck
  /** Told of every refusal the update protocol makes before the handler. */
  onRefusal?: (refusal: UpdateRefusal) => void
}

export interface CreateMeshNodeParameters {
  role: MeshRole
  /** The libp2p transport key, kept in the node's data directory by the caller. */
  privateKey: PrivateKey
  fleet: Hex
  domain: FleetDomain
  /** Gateway addresses whose round announcements and receipts count. */
  gateways: readonly Address[]
  /** Where fetched models live and what this node serves to others. */
  modelStore: AbstractBlobStore
  /** Round records (served over /counterweight/record/1.0.0); absent: not served or fetched. */
  recordStore?: AbstractBlobStore
  /** Multiaddrs to listen on; default: every interface, a free TCP port. */
  listen?: readonly string[]
  /** Bootstrap peers (multiaddrs with /p2p/<id>). */
  bootstrap?: readonly string[]
  /** mDNS discovery on the LAN; on by default for agents. */
  mdns?: boolean
  /** Required for the gateway role. */
  gateway?: MeshGatewayInit
  limits?: MeshLimits
  logger: Logger
}

export interface MeshNodeEvents {
  announcement: CustomEvent<{ from: PeerId; announcement: Signed<'RoundAnnouncement'> }>
  model: CustomEvent<{ from: PeerId; availability: ModelAvailability }>
  event: CustomEvent<{ from: PeerId; attestation: Signed<'InferenceAttestation'> }>
}

export interface FetchFromAnyOptions extends FetchBlobOptions {
  /** Peers to ask first. */
  providers?: readonly (PeerId | Multiaddr)[]
  /** Ask only `providers` and peers known to hold the blob, not every connected peer. */
  onlyKnownHolders?: boolean
}

type Services = { identify: Identify; ping: Ping; pubsub: GossipSub }

/** Most holders remembered per blob, and blobs remembered: bounded so gossip cannot grow memory. */
const MAX_KNOWN_HOLDERS = 64
const MAX_KNOWN_BLOBS = 64

export class MeshNode extends EventTarget {
  readonly role: MeshRole
  readonly libp2p: Libp2p<Services>
  readonly topics: FleetTopics
  readonly models: BlobTransfer
  readonly records: BlobTransfer | undefined
  readonly updates: UpdateService | undefined
  readonly #parameters: CreateMeshNodeParameters
  readonly #log: Logger
  readonly #holders = new Map<Hex, Set<string>>()
  readonly #fetching = new Map<string, Promise<FetchBlobReturnType>>()

  constructor(libp2p: Libp2p<Services>, parameters: CreateMeshNodeParameters) {
    super()
    this.libp2p = libp2p
    this.role = parameters.role
    this.#parameters = parameters
    this.#log = parameters.logger.child({ component: `mesh:${parameters.role}` })
    this.topics = fleetTopics(parameters.fleet)
    const limits = parameters.limits ?? {}
    const components = { libp2p, logger: parameters.logger }
    const blobLimits = {
      ...(limits.blobFrameTimeoutMs === undefined ? {} : { frameTimeoutMs: limits.blobFrameTimeoutMs }),
      ...(limits.maxBlobStreamsPerPeer === undefined ? {} : { maxStreamsPerPeer: limits.maxBlobStreamsPerPeer }),
      ...(limits.maxBlobStreamsTotal === undefined ? {} : { maxStreamsTotal: limits.maxBlobStreamsTotal }),
    }
    this.models = new BlobTransfer(components, { protocol: PROTOCOL_MODEL, store: parameters.modelStore, maxBlobBytes: MAX_MODEL_BYTES, ...blobLimits })
    this.records =
      parameters.recordStore === undefined
        ? undefined
        : new BlobTransfer(components, { protocol: PROTOCOL_RECORD, store: parameters.recordStore, maxBlobBytes: MAX_RECORD_BYTES, ...blobLimits })
    const gateway = parameters.gateway
    this.updates =
      gateway === undefined
        ? undefined
        : new UpdateService(components, {
            fleet: parameters.fleet,
            domain: parameters.domain,
            owner: gateway.owner,
            signer: gateway.signer,
            handler: gateway.handler,
            ...(gateway.checkPeer === undefined ? {} : { checkPeer: gateway.checkPeer }),
            ...(gateway.admit === undefined ? {} : { admit: gateway.admit }),
            ...(gateway.onRefusal === undefined ? {} : { onRefusal: gateway.onRefusal }),
            ...(limits.updateTimeoutMs === undefined ? {} : { timeoutMs: limits.updateTimeoutMs }),
            ...(limits.updateHeaderTimeoutMs === undefined ? {} : { headerTimeoutMs: limits.updateHeaderTimeoutMs }),
            ...(limits.maxUpdateStreamsPerPeer === undefined ? {} : { maxStreamsPerPeer: limits.maxUpdateStreamsPerPeer }),
            ...(limits.maxUnverifiedUpdateStreams === undefined ? {} : { maxUnverifiedStreams: limits.maxUnverifiedUpdateStreams }),
            ...(limits.maxKnownPeerUpdateStreams === undefined ? {} : { maxKnownPeerStreams: limits.maxKnownPeerUpdateStreams }),
            ...(limits.maxVerifiedUpdateStreams === undefined ? {} : { maxVerifiedStreams: limits.maxVerifiedUpdateStreams }),
            ...(limits.maxUpdateBufferedBytes === undefined ? {} : { maxBufferedBytes: limits.maxUpdateBufferedBytes }),
            ...(limits.maxUpdateHandlers === undefined ? {} : { maxHandlers: limits.maxUpdateHandlers }),
          })
    this.onMessage = this.onMessage.bind(this)
  }

  get peerId(): PeerId {
    return this.libp2p.peerId
  }

  get multiaddrs(): Multiaddr[] {
    return this.libp2p.getMultiaddrs()
  }

  async start(): Promise<void> {
    const pubsub = this.libp2p.services.pubsub
    const validators = topicValidators({
      fleet: this.#parameters.fleet,
      domain: this.#parameters.domain,
      isAuthorisedGateway: (address) => this.#parameters.gateways.some((g) => isAddressEqual(g, address)),
      logger: this.#parameters.logger,
    })
    for (const [topic, validator] of validators) pubsub.topicValidators.set(topic, validator)
    pubsub.addEventListener('message', this.onMessage)
    await this.libp2p.start()
    await this.models.start()
    await this.records?.start()
    await this.updates?.start()
    for (const topic of Object.values(this.topics)) pubsub.subscribe(topic)
    this.#log.info({ peer: this.peerId.toString(), addrs: this.multiaddrs.map(String) }, 'mesh node started')
  }

  async stop(): Promise<void> {
    this.libp2p.services.pubsub.removeEventListener('message', this.onMessage)
    await this.updates?.stop()
    await this.records?.stop()
    await this.models.stop()
    await this.libp2p.stop()
    this.#holders.clear()
  }

  /** Delivered gossip: already validated by the topic validators, decoded again to hand it on typed. */
  onMessage(evt: CustomEvent<{ type: string; topic: string; data: Uint8Array; from?: PeerId }>): void {
    const { topic, data, from } = evt.detail
    if (from === undefined) return
    try {
      if (topic === this.topics.rounds) {
        this.dispatchEvent(new CustomEvent('announcement', { detail: { from, announcement: decodeSigned('RoundAnnouncement', data) } }))
      } else if (topic === this.topics.models) {
        const availability = decodeModelAvailability(data)
        this.#rememberHolder(availability.hash, from.toString())
        this.dispatchEvent(new CustomEvent('model', { detail: { from, availability } }))
      } else if (topic === this.topics.events) {
        this.dispatchEvent(new CustomEvent('event', { detail: { from, attestation: decodeSigned('InferenceAttestation', data) } }))
      }
    } catch (err) {
      this.#log.warn({ topic, err: err instanceof Error ? err.message : String(err) }, 'gossip message dropped after validation')
    }
  }

  #rememberHolder(hash: Hex, peer: string): void {
    let holders = this.#holders.get(hash)
    if (holders === undefined) {
      if (this.#holders.size >= MAX_KNOWN_BLOBS) {
        const oldest = this.#holders.keys().next().value
        if (oldest !== undefined) this.#holders.delete(oldest)
      }
      holders = new Set()
      this.#holders.set(hash, holders)
    }
    if (holders.size < MAX_KNOWN_HOLDERS) holders.add(peer)
  }

  /** Peers known (from the models topic) to hold `hash`. */
  holdersOf(hash: Hex): string[] {
    return [...(this.#holders.get(hash.toLowerCase() as Hex) ?? [])]
  }

  async dial(address: string | Multiaddr, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.libp2p.dial(typeof address === 'string' ? multiaddr(address) : address, options)
  }

  async publishAnnouncement(announcement: Signed<'RoundAnnouncement'>): Promise<number> {
    const result = await this.libp2p.services.pubsub.publish(this.topics.rounds, encodeSigned('RoundAnnouncement', announcement))
    return result.recipients.length
  }

  async publishEvent(attestation: Signed<'InferenceAttestation'>): Promise<number> {
    const result = await this.libp2p.services.pubsub.publish(this.topics.events, encodeSigned('InferenceAttestation', attestation))
    return result.recipients.length
  }

  /** Tells the fleet this node holds a model (after a fetch, or a gateway's new model). */
  async announceModel(hash: Hex, options: { signal?: AbortSignal } = {}): Promise<number> {
    const info = await this.#parameters.modelStore.stat(hash, options)
    if (info === undefined) throw new BlobNotFoundError(hash)
    const result = await this.libp2p.services.pubsub.publish(this.topics.models, encodeModelAvailability({ hash, size: info.size }))
    return result.recipients.length
  }

  /**
   * Fetches a model by sha256 from the first peer that has it: the `providers` given, then peers
   * known to hold it, then every connected peer. A failed or cut transfer moves to the next peer
   * and resumes from the bytes already kept.
   */
  async fetchModel(hash: Hex, options: FetchFromAnyOptions = {}): Promise<FetchBlobReturnType> {
    return this.#fetchFromAny(this.models, hash, options)
  }

  async fetchRecord(hash: Hex, options: FetchFromAnyOptions = {}): Promise<FetchBlobReturnType> {
    if (this.records === undefined) throw new InvalidArgumentError('recordStore', 'this node has no record store')
    return this.#fetchFromAny(this.records, hash, options)
  }

  /** One fetch per blob at a time: a second caller waits for the first instead of racing its appends. */
  async #fetchFromAny(transfer: BlobTransfer, hash: Hex, options: FetchFromAnyOptions): Promise<FetchBlobReturnType> {
    const key = `${transfer.protocol} ${hash.toLowerCase()}`
    const running = this.#fetching.get(key)
    if (running !== undefined) {
      await running.catch(() => undefined) // its failure is its caller's; this caller tries afresh
      return this.#fetchFromAny(transfer, hash, options)
    }
    const fetching = this.#fetchOnce(transfer, hash, options)
    this.#fetching.set(key, fetching)
    try {
      return await fetching
    } finally {
      this.#fetching.delete(key)
    }
  }

  async #fetchOnce(transfer: BlobTransfer, hash: Hex, options: FetchFromAnyOptions): Promise<FetchBlobReturnType> {
    const { providers, onlyKnownHolders = false, ...fetchOptions } = options
    const known = new Set(this.holdersOf(hash))
    const connected = this.libp2p.getPeers()
    const candidates: (PeerId | Multiaddr)[] = [
      ...(providers ?? []),
      ...shuffle(connected.filter((p) => known.has(p.toString()))),
      ...(onlyKnownHolders ? [] : shuffle(connected.filter((p) => !known.has(p.toString())))),
    ]
    let lastError: unknown = new BlobNotFoundError(hash)
    for (const peer of candidates) {
      options.signal?.throwIfAborted()
      try {
        return await transfer.fetch(peer, hash, fetchOptions)
      } catch (err) {
        options.signal?.throwIfAborted()
        lastError = err
        this.#log.debug({ peer: peer.toString(), hash, err: err instanceof Error ? err.message : String(err) }, 'fetch from peer failed')
      }
    }
    throw lastError
  }

  /** Sends an update to a gateway and returns its checked, signed Receipt. */
  async submitUpdate(peer: PeerId | Multiaddr, submission: UpdateSubmission | Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Signed<'Receipt'>> {
    const limits = this.#parameters.limits ?? {}
    return submitUpdate({
      libp2p: this.libp2p,
      peer,
      submission,
      domain: this.#parameters.domain,
      gateways: this.#parameters.gateways,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(limits.updateTimeoutMs === undefined ? {} : { timeoutMs: limits.updateTimeoutMs }),
    })
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const a = items[i] as T
    items[i] = items[j] as T
    items[j] = a
  }
  return items
}

/** Builds (but does not start) a mesh node. */
export async function createMeshNode(parameters: CreateMeshNodeParameters): Promise<MeshNode> {
  const config = { ...parameters }
  if (config.role === 'gateway' && config.gateway === undefined) throw new InvalidArgumentError('gateway', 'a gateway node needs its update handler and key')
  if (config.role === 'agent' && config.gateway !== undefined) throw new InvalidArgumentError('gateway', 'only a gateway node serves updates')
  const limits = config.limits ?? {}
  const discovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if ((config.bootstrap ?? []).length > 0) discovery.push(bootstrap({ list: [...(config.bootstrap ?? [])] }))
  if (config.mdns ?? config.role === 'agent') discovery.push(mdns())
  const libp2p = await createLibp2p({
    privateKey: config.privateKey,
    start: false,
    addresses: { listen: [...(config.listen ?? ['/ip4/0.0.0.0/tcp/0'])] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: discovery,
    connectionManager: {
      maxConnections: limits.maxConnections ?? MAX_CONNECTIONS[config.role],
      ...(limits.inboundConnectionThreshold === undefined ? {} : { inboundConnectionThreshold: limits.inboundConnectionThreshold }),
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        maxInboundDataLength: GOSSIP_MAX_DATA_BYTES,
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Without per-topic parameters gossipsub scores no topic, and a rejection costs nothing.
        scoreParams: {
          IPColocationFactorWeight: GOSSIP_IP_COLOCATION_WEIGHT,
          topics: Object.fromEntries(
            Object.values(fleetTopics(config.fleet)).map((topic) => [
              topic,
              createTopicScoreParams({
                topicWeight: 1,
                // Announcements are rare: rewarding mesh time or deliveries, or penalising a quiet
                // mesh (the library's example defaults), would score peers on traffic they cannot make.
                timeInMeshWeight: 0,
                firstMessageDeliveriesWeight: 0,
                meshMessageDeliveriesWeight: 0,
                meshFailurePenaltyWeight: 0,
                invalidMessageDeliveriesWeight: GOSSIP_INVALID_MESSAGE_WEIGHT,
                invalidMessageDeliveriesDecay: GOSSIP_INVALID_MESSAGE_DECAY,
              }),
            ]),
          ),
        },
      }),
    },
  })
  return new MeshNode(libp2p, config)
}
