// /counterweight/update/1.0.0: a device sends one frame, an encoded UpdateSubmission
// `{ attestation (with its signature), certificate, update }`, and gets one frame back: a signed
// Receipt, accepted or rejected with a reason, or an error frame naming what was wrong.
// The gateway checks, in order: size cap, strict decoding, peer binding, the registry/revocation
// hook, the attestation's signature, the update's content id; only then does the pluggable
// handler (issue 6's acceptance logic) see the submission.
import type { Connection, DialTarget, Libp2p, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { isAddressEqual, type Address, type Hex } from 'viem'
import type { Signer } from '../crypto/signer.js'
import type { FleetDomain } from '../eip712/domain.js'
import { hashMessage, signReceipt, verifyReceipt, verifyUpdateAttestation } from '../eip712/messages.js'
import type { Receipt, Signed } from '../eip712/schemas.js'
import { BadSignatureError, BaseError, InvalidArgumentError, PeerRejectedError, StreamProtocolError, TooManyStreamsError } from '../errors.js'
import { PROTOCOL_UPDATE, MAX_LABEL_LENGTH } from '../constants.js'
import { contentId } from '../tensors/update-codec.js'
import { decodeSigned, decodeSubmission, encodeSigned, encodeSubmission, type UpdateSubmission } from '../wire/codec.js'
import {
  LIBP2P_STREAM_LIMIT_MARGIN,
  MAX_UPDATE_REQUEST_BYTES,
  MAX_UPDATE_RESPONSE_BYTES,
  MAX_UPDATE_STREAMS_PER_PEER,
  UPDATE_TIMEOUT_MS,
} from './constants.js'
import { framed, okFrame, parseResponse, rejectStream, toStreamError } from './frames.js'
import { checkPeerBinding } from './peer-binding.js'
import { StreamLimiter } from './stream-limiter.js'

/** Reason a gateway puts in a receipt when the update bytes do not hash to the attested updateHash. */
export const REASON_UPDATE_HASH_MISMATCH = 'update-hash-mismatch'

/** A submission whose certificate binds the sending peer and whose attestation signature verifies. */
export interface VerifiedSubmission extends UpdateSubmission {
  /** EIP-712 digest of the attestation: the submission's id, and the key of every store. */
  attestationHash: Hex
  peerId: string
}

export interface UpdateDecision {
  accepted: boolean
  /** Short reason code for a rejection (≤ 64 characters); empty when accepted. */
  reason: string
}

/** Issue 6's acceptance logic plugs in here. It must be idempotent per attestationHash. */
export type UpdateHandler = (submission: VerifiedSubmission, options: { signal: AbortSignal }) => Promise<UpdateDecision>

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
  checkPeer?: PeerCheck
  timeoutMs?: number
  maxStreamsPerPeer?: number
  maxStreamsTotal?: number
  /** Unix seconds now; a clock for tests. */
  now?: () => bigint
}

const unixNow = (): bigint => BigInt(Math.floor(Date.now() / 1000))

/** The gateway side of the update protocol. */
export class UpdateService {
  readonly protocol = PROTOCOL_UPDATE
  readonly #components: UpdateServiceComponents
  readonly #init: UpdateServiceInit
  readonly #log: Logger
  readonly #limiter: StreamLimiter
  readonly #timeoutMs: number
  readonly #now: () => bigint
  #started = false

  constructor(components: UpdateServiceComponents, init: UpdateServiceInit) {
    this.#components = components
    this.#init = { ...init }
    this.#log = components.logger.child({ component: 'mesh:update' })
    this.#timeoutMs = init.timeoutMs ?? UPDATE_TIMEOUT_MS
    this.#now = init.now ?? unixNow
    this.#limiter = new StreamLimiter({
      maxPerPeer: init.maxStreamsPerPeer ?? MAX_UPDATE_STREAMS_PER_PEER,
      maxTotal: init.maxStreamsTotal ?? Number.MAX_SAFE_INTEGER,
    })
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
    this.#started = false
  }

  async handleStream(stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString()
    if (!this.#limiter.acquire(peerId)) {
      this.#log.warn({ peer: peerId }, 'too many update streams')
      await rejectStream(stream, new TooManyStreamsError(this.protocol, this.#limiter.maxPerPeer))
      return
    }
    const signal = AbortSignal.timeout(this.#timeoutMs)
    try {
      const lp = framed(stream, MAX_UPDATE_REQUEST_BYTES)
      const frame = (await lp.read({ signal })).subarray()
      const receipt = await this.#receive(frame, peerId, signal)
      await lp.write(okFrame(encodeSigned('Receipt', receipt)), { signal })
      await stream.close({ signal })
    } catch (err) {
      const error = toStreamError(this.protocol, err, { maxFrameBytes: MAX_UPDATE_REQUEST_BYTES, timeoutMs: this.#timeoutMs, signal })
      this.#log.info({ peer: peerId, code: error.code, err: error.message }, 'update stream refused')
      await rejectStream(stream, error)
    } finally {
      this.#limiter.release(peerId)
    }
  }

  async #receive(frame: Uint8Array, peerId: string, signal: AbortSignal): Promise<Signed<'Receipt'>> {
    const { fleet, domain, owner, signer, handler, checkPeer } = this.#init
    const submission = decodeSubmission(frame)
    const { attestation, certificate } = submission
    const device = attestation.message.device
    checkPeerBinding({ certificate, peerId, device, fleet, domain, owner, now: this.#now() })
    const refusal = await checkPeer?.({ peerId, device, certificate, signal })
    if (refusal !== undefined) throw new PeerRejectedError(peerId, refusal)
    if (!verifyUpdateAttestation({ domain, message: attestation.message, signature: attestation.signature }))
      throw new BadSignatureError('UpdateAttestation')
    const attestationHash = hashMessage('UpdateAttestation', domain, attestation.message)
    let decision: UpdateDecision
    if (attestation.message.fleet.toLowerCase() !== fleet.toLowerCase()) decision = { accepted: false, reason: 'wrong-fleet' }
    else if (contentId(submission.update) !== attestation.message.updateHash.toLowerCase())
      decision = { accepted: false, reason: REASON_UPDATE_HASH_MISMATCH }
    else decision = await handler({ ...submission, attestationHash, peerId }, { signal })
    if (typeof decision.reason !== 'string' || decision.reason.length > MAX_LABEL_LENGTH)
      throw new InvalidArgumentError('reason', `the handler's reason must be a string of at most ${MAX_LABEL_LENGTH} characters`)
    const message: Receipt = {
      fleet,
      round: attestation.message.round,
      gateway: signer.address,
      device,
      attestationHash,
      accepted: decision.accepted,
      reason: decision.accepted ? '' : decision.reason,
      time: this.#now(),
    }
    return signReceipt({ domain, message, signer, signal })
  }
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
    let writeError: unknown
    try {
      await lp.write(bytes, { signal })
    } catch (err) {
      // The gateway may have refused mid-write; its error frame says why.
      writeError = err
    }
    let frame: Uint8Array
    try {
      frame = (await lp.read({ signal })).subarray()
    } catch (err) {
      throw writeError ?? err
    }
    const receipt = decodeSigned('Receipt', parseResponse(PROTOCOL_UPDATE, frame))
    const r = receipt.message
    const fromGateway = gateways.some((g) => isAddressEqual(g, r.gateway))
    if (!fromGateway || r.attestationHash.toLowerCase() !== attestationHash.toLowerCase() || !isAddressEqual(r.device, attestation.message.device))
      throw new StreamProtocolError(PROTOCOL_UPDATE, 'the receipt answers another submission or comes from an unknown gateway')
    if (!verifyReceipt({ domain, message: r, signature: receipt.signature }))
      throw new BadSignatureError('Receipt')
    await stream.close({ signal }).catch((err: unknown) => stream.abort(err instanceof Error ? err : new Error(String(err))))
    return receipt
  } catch (err) {
    const error = toStreamError(PROTOCOL_UPDATE, err, { maxFrameBytes: MAX_UPDATE_RESPONSE_BYTES, timeoutMs, signal })
    if (stream.status === 'open' || stream.status === 'closing') stream.abort(error)
    if (parameters.signal?.aborted === true && !(err instanceof BaseError)) throw parameters.signal.reason
    throw error
  }
}
