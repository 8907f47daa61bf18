// /counterweight/update/1.0.0: a device sends one frame, an encoded UpdateSubmission
// `{ attestation (with its signature), certificate, update }`, and gets one frame back: a signed
// Receipt, accepted or rejected with a reason, or an error frame naming what was wrong.
//
// The canonical encoding puts the attestation and the certificate (fields 1 and 2) before the
// update (field 3), so the gateway reads the frame's first bytes, at most MAX_UPDATE_HEADER_BYTES,
// and checks, in order: size caps, strict decoding of the header, peer binding, the
// registry/revocation hook, the attestation's signature, the fleet, and the optional `admit` hook
// (which may answer at once, e.g. a device that was not selected). Only a peer that passes gets
// its frame's bytes reserved (UpdateAdmission) and its update read; then the update's content id
// is checked, and the pluggable handler (issue 6's acceptance logic) sees the submission.
// Until then the stream stays paused (PacedReader): an unknown peer costs at most
// MAX_UPDATE_STREAM_SLACK_BYTES, whatever it sends. Every refusal before the handler is reported
// through `onRefusal` with a reason from MESH_REFUSAL_REASONS.
import { Queue } from '@libp2p/utils'
import type { Connection, DialTarget, Libp2p, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { isAddressEqual, type Address, type Hex } from 'viem'
import type { Signer } from '../crypto/signer.js'
import type { FleetDomain } from '../eip712/domain.js'
import { hashMessage, signReceipt, verifyReceipt, verifyUpdateAttestation } from '../eip712/messages.js'
import type { Receipt, Signed } from '../eip712/schemas.js'
import {
  BadSignatureError,
  BaseError,
  DecodeError,
  FrameTooLargeError,
  GatewayBusyError,
  GatewayInternalError,
  InvalidArgumentError,
  MessageTooLargeError,
  PeerRejectedError,
  StreamProtocolError,
  TooManyStreamsError,
} from '../errors.js'
import { PROTOCOL_UPDATE, MAX_LABEL_LENGTH, MAX_MESSAGE_BYTES } from '../constants.js'
import { contentId } from '../tensors/update-codec.js'
import { decodeSigned, decodeSubmission, encodeSigned, encodeSubmission, type UpdateSubmission } from '../wire/codec.js'
import {
  LIBP2P_STREAM_LIMIT_MARGIN,
  MAX_KNOWN_PEER_UPDATE_STREAMS,
  MAX_KNOWN_UPDATE_PEERS,
  MAX_UNVERIFIED_UPDATE_STREAMS,
  MAX_UPDATE_BUFFERED_BYTES,
  MAX_UPDATE_HANDLERS,
  MAX_UPDATE_HEADER_BYTES,
  MAX_UPDATE_REQUEST_BYTES,
  MAX_UPDATE_RESPONSE_BYTES,
  MAX_UPDATE_STREAM_SLACK_BYTES,
  MAX_UPDATE_STREAMS_PER_PEER,
  MAX_VERIFIED_UPDATE_STREAMS,
  UPDATE_HEADER_TIMEOUT_MS,
  UPDATE_RETRY_AFTER_MS,
  UPDATE_TIMEOUT_MS,
} from './constants.js'
import { answerStream, framed, okFrame, parseResponse, rejectStream, toStreamError, evictStream } from './frames.js'
import { PacedReader } from './paced-reader.js'
import { checkPeerBinding } from './peer-binding.js'
import { StreamLimiter } from './stream-limiter.js'
import { UpdateAdmission, type AdmissionStats } from './update-admission.js'

/** Reason a gateway puts in a receipt when the update bytes do not hash to the attested updateHash. */
export const REASON_UPDATE_HASH_MISMATCH = 'update-hash-mismatch'
/** Reason a gateway puts in a receipt when the attestation names another fleet (the verifier's name too). */
export const REASON_FLEET_MISMATCH = 'fleet-mismatch'

/**
 * What the gateway counts when the mesh layer refuses an update before the handler sees it. The
 * first ones are the verifier's own names for the same failures (gateway/verify/reasons.ts); the
 * rest have no receipt, only an error frame (docs/rejections.md).
 */
export const MESH_REFUSAL_REASONS = [
  'fleet-mismatch',
  'certificate-invalid',
  'certificate-expired',
  'peer-unbound',
  'signature-invalid',
  'update-hash-mismatch',
  'peer-rejected',
  'submission-malformed',
  'frame-too-large',
  'timeout',
  'too-many-streams',
  'busy',
  'protocol-error',
  'gateway-error',
] as const

export type MeshRefusalReason = (typeof MESH_REFUSAL_REASONS)[number]

/** Binding failures (PeerNotBoundError `details.reason`) under the verifier's names. */
const BINDING_REASONS: Readonly<Record<string, MeshRefusalReason>> = {
  'peer-id': 'peer-unbound',
  fleet: 'fleet-mismatch',
  device: 'certificate-invalid',
  validity: 'certificate-expired',
  signature: 'certificate-invalid',
}

/** The refusal reason counted for an error an update stream was answered with. */
export function refusalReason(err: BaseError): MeshRefusalReason {
  switch (err.code) {
    case 'CW_MESH_PEER_NOT_BOUND':
      return BINDING_REASONS[String(err.details.reason)] ?? 'peer-unbound'
    case 'CW_MESH_BAD_SIGNATURE':
      return 'signature-invalid'
    case 'CW_MESH_PEER_REJECTED':
      return 'peer-rejected'
    case 'CW_DECODE':
    case 'CW_MESSAGE_TOO_LARGE':
      return 'submission-malformed'
    case 'CW_MESH_FRAME_TOO_LARGE':
      return 'frame-too-large'
    case 'CW_MESH_TIMEOUT':
      return 'timeout'
    case 'CW_MESH_TOO_MANY_STREAMS':
      return 'too-many-streams'
    case 'CW_MESH_BUSY':
      return 'busy'
    case 'CW_MESH_PROTOCOL':
      return 'protocol-error'
    default:
      return 'gateway-error'
  }
}

/** A refusal before the handler: an error frame (`code` set) or a rejected receipt the mesh layer signed. */
export interface UpdateRefusal {
  reason: MeshRefusalReason
  peerId: string
  /** The error frame's code; absent for a signed rejection. */
  code?: string
}

/** A submission whose certificate binds the sending peer and whose attestation signature verifies. */
export interface VerifiedSubmission extends UpdateSubmission {
  /** EIP-712 digest of the attestation: the submission's id, and the key of every store. */
  attestationHash: Hex
  peerId: string
  /** The submission's canonical encoding as received (what a store keeps, without encoding it again). */
  encoded: Uint8Array
}

/** What the gateway knows of a submission once its header is checked, before its update is read. */
export type VerifiedHeader = Omit<VerifiedSubmission, 'update' | 'encoded'> & { updateBytes: number }

export interface UpdateDecision {
  accepted: boolean
  /** Short reason code for a rejection (≤ 64 characters); empty when accepted. */
  reason: string
}

/** Issue 6's acceptance logic plugs in here. It must be idempotent per attestationHash. */
export type UpdateHandler = (submission: VerifiedSubmission, options: { signal: AbortSignal }) => Promise<UpdateDecision>

/**
 * Decides on a submission from its verified header alone, before its update is read: a decision
 * is answered with a receipt at once (a device that was not selected, a round that is closed, a
 * resend of an update already kept); undefined reads the update and calls the handler.
 */
export type UpdateAdmit = (header: VerifiedHeader, options: { signal: AbortSignal }) => Promise<UpdateDecision | undefined>

/**
 * Registry and revocation checks (issues 6 and 7): resolves to undefined to let a bound peer
 * through, or to a reason string to refuse it with PeerRejectedError.
 */
export type PeerCheck = (parameters: { peerId: string; device: Address; certificate: Signed<'DeviceCertificate'>; signal: AbortSignal }) => Promise<string | undefined>

export interface UpdateServiceComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  logger: Logger
}

export interface UpdateServiceInit {
  fleet: Hex
  domain: FleetDomain
  /** Signs certificates; the binding is checked against it. */
  owner: Address
  /** The gateway's key, which signs receipts. */
  signer: Signer
  handler: UpdateHandler
  admit?: UpdateAdmit
  checkPeer?: PeerCheck
  /** Told of every refusal before the handler (for the gateway's counters). */
  onRefusal?: (refusal: UpdateRefusal) => void
  timeoutMs?: number
  headerTimeoutMs?: number
  maxStreamsPerPeer?: number
  maxUnverifiedStreams?: number
  maxKnownPeerStreams?: number
  maxKnownPeers?: number
  maxVerifiedStreams?: number
  maxBufferedBytes?: number
  maxHandlers?: number
  retryAfterMs?: number
  /** Unix seconds now; a clock for tests. */
  now?: () => bigint
}

export interface UpdateServiceStats extends AdmissionStats {
  /** Submissions handed to the handler or waiting for it. */
  handling: number
}

const unixNow = (): bigint => BigInt(Math.floor(Date.now() / 1000))

/** Field numbers of UpdateSubmission (proto/messages.proto), in canonical order. */
const HEADER_FIELDS = [
  [1, 'UpdateAttestation'],
  [2, 'DeviceCertificate'],
] as const
const UPDATE_FIELD = 3
const LENGTH_DELIMITED = 2
/** Longest varint of a frame or field length. */
const MAX_VARINT_BYTES = 5

interface ReadHeader {
  /** Bytes of the frame (after its length prefix). */
  frameBytes: number
  /** Fields 1 and 2: by themselves, the canonical encoding of a submission without an update. */
  signed: Uint8Array
  /** The key and length of field 3 (empty when the frame has no update). */
  updateField: Uint8Array
  updateBytes: number
}

/** The gateway side of the update protocol. */
export class UpdateService {
  readonly protocol = PROTOCOL_UPDATE
  readonly #components: UpdateServiceComponents
  readonly #init: UpdateServiceInit
  readonly #log: Logger
  readonly #limiter: StreamLimiter
  readonly #admission: UpdateAdmission
  readonly #handlers: Queue<Signed<'Receipt'>>
  readonly #timeoutMs: number
  readonly #headerTimeoutMs: number
  readonly #retryAfterMs: number
  readonly #now: () => bigint
  /** Peers whose certificate and signature verified on an earlier stream, least recently seen first. */
  readonly #knownPeers = new Set<string>()
  readonly #maxKnownPeers: number
  #started = false

  constructor(components: UpdateServiceComponents, init: UpdateServiceInit) {
    this.#components = components
    this.#init = { ...init }
    this.#log = components.logger.child({ component: 'mesh:update' })
    this.#timeoutMs = init.timeoutMs ?? UPDATE_TIMEOUT_MS
    this.#headerTimeoutMs = Math.min(init.headerTimeoutMs ?? UPDATE_HEADER_TIMEOUT_MS, this.#timeoutMs)
    this.#retryAfterMs = init.retryAfterMs ?? UPDATE_RETRY_AFTER_MS
    this.#now = init.now ?? unixNow
    this.#maxKnownPeers = init.maxKnownPeers ?? MAX_KNOWN_UPDATE_PEERS
    this.#admission = new UpdateAdmission({
      maxUnverified: init.maxUnverifiedStreams ?? MAX_UNVERIFIED_UPDATE_STREAMS,
      maxKnown: init.maxKnownPeerStreams ?? MAX_KNOWN_PEER_UPDATE_STREAMS,
      maxVerified: init.maxVerifiedStreams ?? MAX_VERIFIED_UPDATE_STREAMS,
      maxBufferedBytes: init.maxBufferedBytes ?? MAX_UPDATE_BUFFERED_BYTES,
    })
    this.#limiter = new StreamLimiter({
      maxPerPeer: init.maxStreamsPerPeer ?? MAX_UPDATE_STREAMS_PER_PEER,
      maxTotal: this.#admission.maxUnverified + this.#admission.maxKnown + this.#admission.maxVerified,
    })
    this.#handlers = new Queue({ concurrency: init.maxHandlers ?? MAX_UPDATE_HANDLERS })
    this.handleStream = this.handleStream.bind(this)
  }

  async start(): Promise<void> {
    if (this.#started) return
    await this.#components.libp2p.handle(this.protocol, this.handleStream, {
      maxInboundStreams: this.#limiter.maxPerPeer + LIBP2P_STREAM_LIMIT_MARGIN,
    })
    this.#started = true
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    await this.#components.libp2p.unhandle(this.protocol)
    this.#handlers.abort()
    this.#started = false
  }

  /** Streams, reserved bytes and handler queue now (for status and metrics). */
  stats(): UpdateServiceStats {
    return { ...this.#admission.stats(), handling: this.#handlers.size }
  }

  async handleStream(stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString()
    // Paused from the first moment: nothing the peer sends is read before it is asked for.
    const ticket = this.#admission.enter(
      () => {
        this.#log.debug({ peer: peerId }, 'unverified update stream evicted for a newcomer')
        evictStream(stream, new GatewayBusyError(this.protocol, 'unverified-streams', this.#retryAfterMs))
      },
      { known: this.#known(peerId) },
    )
    const reader = new PacedReader(stream, { protocol: this.protocol, slackBytes: MAX_UPDATE_STREAM_SLACK_BYTES, onFirstBytes: () => this.#admission.speak(ticket) })
    const acquired = this.#limiter.acquire(peerId)
    const timeout = AbortSignal.timeout(this.#timeoutMs)
    const headerTimeout = AbortSignal.timeout(this.#headerTimeoutMs)
    const headerSignal = AbortSignal.any([timeout, headerTimeout])
    try {
      if (!acquired) throw new TooManyStreamsError(this.protocol, this.#limiter.maxPerPeer)
      const read = await this.#readHeader(reader, headerSignal)
      const header = await this.#verifyHeader(read, peerId, headerSignal)
      this.#remember(peerId)
      // A verified peer no longer competes with unknown ones for a slot.
      const slot = this.#admission.verify(ticket)
      if (slot !== undefined) throw new GatewayBusyError(this.protocol, slot, this.#retryAfterMs)
      const early = await this.#early(header, timeout)
      if (early !== undefined) {
        await answerStream(stream, okFrame(encodeSigned('Receipt', await this.#receipt(header, early, timeout))))
        return
      }
      const bytes = this.#admission.reserve(ticket, read.frameBytes)
      if (bytes !== undefined) throw new GatewayBusyError(this.protocol, bytes, this.#retryAfterMs)
      const frame = new Uint8Array(read.frameBytes)
      frame.set(read.signed, 0)
      frame.set(read.updateField, read.signed.length)
      await reader.readInto(frame.subarray(read.signed.length + read.updateField.length), { signal: timeout })
      const receipt = await this.#handlers.add(() => this.#receive(frame, header, timeout), { signal: timeout })
      await framed(stream, MAX_UPDATE_RESPONSE_BYTES).write(okFrame(encodeSigned('Receipt', receipt)), { signal: timeout })
      await stream.close({ signal: timeout })
    } catch (err) {
      const error = toStreamError(this.protocol, err, {
        maxFrameBytes: MAX_UPDATE_REQUEST_BYTES,
        timeoutMs: headerTimeout.aborted && !timeout.aborted ? this.#headerTimeoutMs : this.#timeoutMs,
        signal: headerSignal,
      })
      this.#refused({ reason: refusalReason(error), peerId, code: error.code })
      this.#log.info({ peer: peerId, code: error.code, err: error.message }, 'update stream refused')
      reader.release()
      // Still holding its slot: an unverified one may be evicted (reset) while its error frame flushes.
      await rejectStream(stream, error)
    } finally {
      reader.release()
      this.#admission.release(ticket)
      if (acquired) this.#limiter.release(peerId)
    }
  }

  /** Whether the peer proved its identity on an earlier stream (and is still remembered). */
  #known(peerId: string): boolean {
    return this.#knownPeers.has(peerId)
  }

  #remember(peerId: string): void {
    this.#knownPeers.delete(peerId)
    this.#knownPeers.add(peerId)
    if (this.#knownPeers.size > this.#maxKnownPeers) {
      const oldest = this.#knownPeers.values().next().value
      if (oldest !== undefined) this.#knownPeers.delete(oldest)
    }
  }

  #refused(refusal: UpdateRefusal): void {
    try {
      this.#init.onRefusal?.(refusal)
    } catch (err) {
      this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'onRefusal threw')
    }
  }

  /**
   * Reads the frame's length and its first two fields, by the canonical layout: key and length
   * varints, each field under its type's cap, the update's length exactly filling the frame.
   */
  async #readHeader(reader: PacedReader, signal: AbortSignal): Promise<ReadHeader> {
    const type = 'UpdateSubmission'
    const varint = async (what: string, take: () => Promise<number>): Promise<number> => {
      let value = 0
      for (let i = 0; i < MAX_VARINT_BYTES; i++) {
        const byte = await take()
        value += (byte & 0x7f) * 2 ** (7 * i)
        if (byte < 0x80) return value
      }
      throw new DecodeError(type, 'bytes', `${what} is longer than ${MAX_VARINT_BYTES} bytes`)
    }
    const frameBytes = await varint('the length prefix', async () => (await reader.read(1, { signal })).get(0)).catch((err: unknown) => {
      throw err instanceof DecodeError ? new FrameTooLargeError(this.protocol, MAX_UPDATE_REQUEST_BYTES, { cause: err }) : err
    })
    if (frameBytes > MAX_UPDATE_REQUEST_BYTES) throw new FrameTooLargeError(this.protocol, MAX_UPDATE_REQUEST_BYTES)
    const chunks: Uint8Array[] = []
    let consumed = 0
    const take = async (n: number): Promise<Uint8Array> => {
      if (consumed + n > frameBytes) throw new DecodeError(type, 'bytes', `truncated: a field runs past the frame's ${frameBytes} bytes`)
      if (consumed + n > MAX_UPDATE_HEADER_BYTES) throw new DecodeError(type, 'bytes', `the attestation and certificate take more than ${MAX_UPDATE_HEADER_BYTES} bytes`)
      const bytes = (await reader.read(n, { signal })).subarray()
      consumed += n
      chunks.push(bytes)
      return bytes
    }
    const byte = async (): Promise<number> => (await take(1))[0] as number
    for (const [field, kind] of HEADER_FIELDS) {
      if (consumed === frameBytes) break // a missing field: decoding says which
      const key = await varint('a field key', byte)
      if (key !== field * 8 + LENGTH_DELIMITED) throw new DecodeError(type, 'bytes', `not the canonical encoding (expected field ${field} at byte ${consumed - 1})`)
      const length = await varint('a field length', byte)
      if (length > MAX_MESSAGE_BYTES[kind]) throw new MessageTooLargeError(kind, length, MAX_MESSAGE_BYTES[kind])
      await take(length)
    }
    const signed = concat(chunks)
    chunks.length = 0
    let updateBytes = 0
    if (consumed < frameBytes) {
      const key = await varint('a field key', byte)
      if (key !== UPDATE_FIELD * 8 + LENGTH_DELIMITED) throw new DecodeError(type, 'bytes', `not the canonical encoding (expected field ${UPDATE_FIELD})`)
      updateBytes = await varint('a field length', byte)
      if (consumed + updateBytes !== frameBytes) throw new DecodeError(type, 'update', `its length ${updateBytes} does not fill the frame's remaining ${frameBytes - consumed} bytes`)
    }
    return { frameBytes, signed, updateField: concat(chunks), updateBytes }
  }

  /** The identity checks, from the header alone: binding, registry hook, attestation signature. */
  async #verifyHeader(read: ReadHeader, peerId: string, signal: AbortSignal): Promise<VerifiedHeader> {
    const { fleet, domain, owner, checkPeer } = this.#init
    const { attestation, certificate } = decodeSubmission(read.signed)
    const device = attestation.message.device
    checkPeerBinding({ certificate, peerId, device, fleet, domain, owner, now: this.#now() })
    const refusal = await checkPeer?.({ peerId, device, certificate, signal })
    if (refusal !== undefined) throw new PeerRejectedError(peerId, refusal)
    if (!verifyUpdateAttestation({ domain, message: attestation.message, signature: attestation.signature }))
      throw new BadSignatureError('UpdateAttestation')
    const attestationHash = hashMessage('UpdateAttestation', domain, attestation.message)
    return { attestation, certificate, attestationHash, peerId, updateBytes: read.updateBytes }
  }

  /** A decision from the header: another fleet's attestation, or whatever the admit hook decides. */
  async #early(header: VerifiedHeader, signal: AbortSignal): Promise<UpdateDecision | undefined> {
    if (header.attestation.message.fleet.toLowerCase() !== this.#init.fleet.toLowerCase()) {
      this.#refused({ reason: REASON_FLEET_MISMATCH, peerId: header.peerId })
      return { accepted: false, reason: REASON_FLEET_MISMATCH }
    }
    return this.#init.admit?.(header, { signal })
  }

  async #receive(frame: Uint8Array, header: VerifiedHeader, signal: AbortSignal): Promise<Signed<'Receipt'>> {
    const submission = decodeSubmission(frame)
    let decision: UpdateDecision
    if (contentId(submission.update) !== header.attestation.message.updateHash.toLowerCase()) {
      this.#refused({ reason: REASON_UPDATE_HASH_MISMATCH, peerId: header.peerId })
      decision = { accepted: false, reason: REASON_UPDATE_HASH_MISMATCH }
    } else {
      try {
        decision = await this.#init.handler({ ...submission, attestationHash: header.attestationHash, peerId: header.peerId, encoded: frame }, { signal })
      } catch (err) {
        if (err instanceof BaseError || signal.aborted) throw err
        this.#log.error({ peer: header.peerId, err: err instanceof Error ? err.message : String(err) }, 'update handler failed')
        throw new GatewayInternalError(this.protocol, { cause: err })
      }
    }
    return this.#receipt(header, decision, signal)
  }

  async #receipt(header: VerifiedHeader, decision: UpdateDecision, signal: AbortSignal): Promise<Signed<'Receipt'>> {
    if (typeof decision.reason !== 'string' || decision.reason.length > MAX_LABEL_LENGTH)
      throw new InvalidArgumentError('reason', `the handler's reason must be a string of at most ${MAX_LABEL_LENGTH} characters`)
    const { fleet, domain, signer } = this.#init
    const message: Receipt = {
      fleet,
      round: header.attestation.message.round,
      gateway: signer.address,
      device: header.attestation.message.device,
      attestationHash: header.attestationHash,
      accepted: decision.accepted,
      reason: decision.accepted ? '' : decision.reason,
      time: this.#now(),
    }
    return signReceipt({ domain, message, signer, signal })
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

export interface SubmitUpdateParameters {
  libp2p: Pick<Libp2p, 'dialProtocol'>
  peer: DialTarget
  /** The submission, or its encoding (as an outbox keeps it). */
  submission: UpdateSubmission | Uint8Array
  domain: FleetDomain
  /** Gateways whose receipts count. */
  gateways: readonly Address[]
  signal?: AbortSignal
  timeoutMs?: number
}

/**
 * Sends a submission and returns the gateway's signed Receipt, checked: signed by one of
 * `gateways`, for this attestation and device. An error frame from the gateway throws RemoteError.
 */
export async function submitUpdate(parameters: SubmitUpdateParameters): Promise<Signed<'Receipt'>> {
  const { libp2p, peer, domain, gateways } = parameters
  const timeoutMs = parameters.timeoutMs ?? UPDATE_TIMEOUT_MS
  const bytes = parameters.submission instanceof Uint8Array ? parameters.submission : encodeSubmission(parameters.submission)
  // Decoding our own bytes names the attestation the receipt must answer (and refuses bad input early).
  const { attestation } = decodeSubmission(bytes)
  const attestationHash = hashMessage('UpdateAttestation', domain, attestation.message)
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = parameters.signal === undefined ? timeout : AbortSignal.any([parameters.signal, timeout])
  const stream = await libp2p.dialProtocol(peer, PROTOCOL_UPDATE, { signal })
  try {
    const lp = framed(stream, MAX_UPDATE_RESPONSE_BYTES)
    // The answer is read while the frame is written: a gateway may answer from the frame's header
    // (a refusal, a busy gateway, a receipt that needs no update) before it reads the rest.
    const answer = lp.read({ signal })
    answer.catch(() => undefined) // awaited below; a rejection before then is not unhandled
    let writeError: unknown
    let written = false
    const writing = lp.write(bytes, { signal }).then(
      () => {
        written = true
      },
      (err: unknown) => {
        // The gateway may have refused mid-write; its answer says why.
        writeError = err
      },
    )
    let frame: Uint8Array
    try {
      frame = (await answer).subarray()
    } catch (err) {
      await writing
      throw writeError ?? err
    }
    if (!written) {
      // Answered before it read everything: stop sending the rest.
      stream.abort(new StreamProtocolError(PROTOCOL_UPDATE, 'the gateway answered before the update was sent'))
      await writing
    }
    const receipt = decodeSigned('Receipt', parseResponse(PROTOCOL_UPDATE, frame))
    const r = receipt.message
    const fromGateway = gateways.some((g) => isAddressEqual(g, r.gateway))
    if (!fromGateway || r.attestationHash.toLowerCase() !== attestationHash.toLowerCase() || !isAddressEqual(r.device, attestation.message.device))
      throw new StreamProtocolError(PROTOCOL_UPDATE, 'the receipt answers another submission or comes from an unknown gateway')
    if (!verifyReceipt({ domain, message: r, signature: receipt.signature }))
      throw new BadSignatureError('Receipt')
    if (stream.status === 'open') await stream.close({ signal }).catch((err: unknown) => stream.abort(err instanceof Error ? err : new Error(String(err))))
    return receipt
  } catch (err) {
    const error = toStreamError(PROTOCOL_UPDATE, err, { maxFrameBytes: MAX_UPDATE_RESPONSE_BYTES, timeoutMs, signal })
    if (stream.status === 'open' || stream.status === 'closing') stream.abort(error)
    if (parameters.signal?.aborted === true && !(err instanceof BaseError)) throw parameters.signal.reason
    throw error
  }
}
