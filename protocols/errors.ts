// Every error the protocols layer throws. Callers match on `code` (stable) or `name`, never on
// the message text. Each code is documented in docs/errors.md; a test keeps the two in step.

export type ErrorDetails = Readonly<Record<string, unknown>>

export interface BaseErrorOptions {
  cause?: unknown
  details?: ErrorDetails
}

export class BaseError extends Error {
  static readonly code: string = 'CW_ERROR'
  override name = 'BaseError'
  readonly code: string
  readonly details: ErrorDetails

  constructor(message: string, options: BaseErrorOptions & { code?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = options.code ?? (new.target as typeof BaseError).code
    this.details = options.details ?? {}
  }
}

/** A caller passed a value of the wrong type, length or range. `details.field` names it. */
export class InvalidArgumentError extends BaseError {
  static override readonly code = 'CW_INVALID_ARGUMENT'
  override name = 'InvalidArgumentError'
  constructor(field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${field}: ${problem}`, { ...options, details: { field, ...options.details } })
  }
}

/** Bytes from the wire that do not decode strictly. `details.field` names the offending field. */
export class DecodeError extends BaseError {
  static override readonly code = 'CW_DECODE'
  override name = 'DecodeError'
  constructor(type: string, field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`cannot decode ${type}: ${field}: ${problem}`, {
      ...options,
      details: { type, field, ...options.details },
    })
  }
}

/** An encoded message larger than its type's cap; refused before any decoding. */
export class MessageTooLargeError extends BaseError {
  static override readonly code = 'CW_MESSAGE_TOO_LARGE'
  override name = 'MessageTooLargeError'
  constructor(type: string, size: number, max: number) {
    super(`${type} of ${size} bytes exceeds its cap of ${max} bytes`, { details: { type, size, max } })
  }
}

/** A signature that is not 65 bytes of hex/bytes: malformed, as opposed to merely wrong. */
export class SignatureFormatError extends BaseError {
  static override readonly code = 'CW_SIGNATURE_FORMAT'
  override name = 'SignatureFormatError'
  constructor(problem: string, options: BaseErrorOptions = {}) {
    super(`malformed signature: ${problem}`, options)
  }
}

/** A signer produced a signature that does not recover to its own address. */
export class SignerMismatchError extends BaseError {
  static override readonly code = 'CW_SIGNER_MISMATCH'
  override name = 'SignerMismatchError'
  constructor(expected: string, recovered: string) {
    super(`signature recovers to ${recovered}, not to the signer ${expected}`, {
      details: { expected, recovered },
    })
  }
}

/** A tensor whose shape, size or values break the format's rules. */
export class TensorFormatError extends BaseError {
  static override readonly code = 'CW_TENSOR_FORMAT'
  override name = 'TensorFormatError'
  constructor(tensor: string, problem: string, options: BaseErrorOptions = {}) {
    super(`tensor ${JSON.stringify(tensor)}: ${problem}`, {
      ...options,
      details: { tensor, ...options.details },
    })
  }
}

/** A leaf asked of a contribution tree that does not hold it. */
export class MerkleLeafNotFoundError extends BaseError {
  static override readonly code = 'CW_MERKLE_LEAF_NOT_FOUND'
  override name = 'MerkleLeafNotFoundError'
  constructor(device: string) {
    super(`no contribution leaf for device ${device}`, { details: { device } })
  }
}

// --- mesh (protocols/mesh) -------------------------------------------------------------------

/** A length-prefixed frame on a mesh stream larger than the protocol allows; the stream is reset. */
export class FrameTooLargeError extends BaseError {
  static override readonly code = 'CW_MESH_FRAME_TOO_LARGE'
  override name = 'FrameTooLargeError'
  constructor(protocol: string, max: number, options: BaseErrorOptions = {}) {
    super(`${protocol}: frame exceeds its cap of ${max} bytes`, { ...options, details: { protocol, max, ...options.details } })
  }
}

/** A mesh stream that broke the protocol: a missing, truncated or unexpected frame. */
export class StreamProtocolError extends BaseError {
  static override readonly code = 'CW_MESH_PROTOCOL'
  override name = 'StreamProtocolError'
  constructor(protocol: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${protocol}: ${problem}`, { ...options, details: { protocol, ...options.details } })
  }
}

/** A mesh stream that did not finish within its protocol's time-out. */
export class StreamTimeoutError extends BaseError {
  static override readonly code = 'CW_MESH_TIMEOUT'
  override name = 'StreamTimeoutError'
  constructor(protocol: string, timeoutMs: number, options: BaseErrorOptions = {}) {
    super(`${protocol}: no progress within ${timeoutMs} ms`, { ...options, details: { protocol, timeoutMs, ...options.details } })
  }
}

/** A peer opened more concurrent streams of one protocol than it may. */
export class TooManyStreamsError extends BaseError {
  static override readonly code = 'CW_MESH_TOO_MANY_STREAMS'
  override name = 'TooManyStreamsError'
  constructor(protocol: string, max: number, options: BaseErrorOptions = {}) {
    super(`${protocol}: more than ${max} concurrent streams from one peer`, { ...options, details: { protocol, max, ...options.details } })
  }
}

/**
 * The gateway is at one of its capacity limits (concurrent update streams, or bytes buffered for
 * updates across all peers): the peer is told to retry after `details.retryAfterMs`.
 */
export class GatewayBusyError extends BaseError {
  static override readonly code = 'CW_MESH_BUSY'
  override name = 'GatewayBusyError'
  constructor(protocol: string, limit: string, retryAfterMs: number, options: BaseErrorOptions = {}) {
    super(`${protocol}: the gateway is at its ${limit} limit; retry in ${retryAfterMs} ms`, { ...options, details: { protocol, limit, retryAfterMs, ...options.details } })
  }
}

/** The gateway failed while handling a verified update (its store, a chain read, …); the device should retry. The cause stays in the gateway's log. */
export class GatewayInternalError extends BaseError {
  static override readonly code = 'CW_MESH_GATEWAY_ERROR'
  override name = 'GatewayInternalError'
  constructor(protocol: string, options: BaseErrorOptions = {}) {
    super(`${protocol}: the gateway could not handle the update; retry later`, { ...options, details: { protocol, ...options.details } })
  }
}

/** An update stream from a peer whose DeviceCertificate does not bind it (or does not verify). */
export class PeerNotBoundError extends BaseError {
  static override readonly code = 'CW_MESH_PEER_NOT_BOUND'
  override name = 'PeerNotBoundError'
  constructor(peerId: string, problem: string, options: BaseErrorOptions = {}) {
    super(`peer ${peerId} is not bound to the device: ${problem}`, { ...options, details: { peerId, ...options.details } })
  }
}

/** A bound peer refused by the registry/revocation hook. `details.reason` says why. */
export class PeerRejectedError extends BaseError {
  static override readonly code = 'CW_MESH_PEER_REJECTED'
  override name = 'PeerRejectedError'
  constructor(peerId: string, reason: string, options: BaseErrorOptions = {}) {
    super(`peer ${peerId} refused: ${reason}`, { ...options, details: { peerId, reason, ...options.details } })
  }
}

/** A signed message received over the mesh whose signature does not verify. */
export class BadSignatureError extends BaseError {
  static override readonly code = 'CW_MESH_BAD_SIGNATURE'
  override name = 'BadSignatureError'
  constructor(type: string, options: BaseErrorOptions = {}) {
    super(`${type}: signature does not verify`, { ...options, details: { type, ...options.details } })
  }
}

/** The remote end answered with an error frame; `details.remoteCode` is its code. */
export class RemoteError extends BaseError {
  static override readonly code = 'CW_MESH_REMOTE'
  override name = 'RemoteError'
  constructor(protocol: string, remoteCode: string, remoteMessage: string, options: BaseErrorOptions = {}) {
    super(`${protocol}: remote refused with ${remoteCode}: ${remoteMessage}`, {
      ...options,
      details: { protocol, remoteCode, remoteMessage, ...options.details },
    })
  }
}

/** A blob asked of a content store (or a peer) that does not hold it. */
export class BlobNotFoundError extends BaseError {
  static override readonly code = 'CW_BLOB_NOT_FOUND'
  override name = 'BlobNotFoundError'
  constructor(hash: string, options: BaseErrorOptions = {}) {
    super(`no blob ${hash}`, { ...options, details: { hash, ...options.details } })
  }
}

/** Received bytes whose sha256 is not the hash they were fetched by; they are not kept. */
export class BlobHashMismatchError extends BaseError {
  static override readonly code = 'CW_BLOB_HASH_MISMATCH'
  override name = 'BlobHashMismatchError'
  constructor(expected: string, actual: string, options: BaseErrorOptions = {}) {
    super(`blob hashes to ${actual}, expected ${expected}`, { ...options, details: { expected, actual, ...options.details } })
  }
}

// --- model format (protocols/model) ----------------------------------------------------------

/** Bytes that are not a well-formed ONNX model, or a model that breaks a rule of the format. `details.field` names what. */
export class ModelFormatError extends BaseError {
  static override readonly code = 'CW_MODEL_FORMAT'
  override name = 'ModelFormatError'
  constructor(field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`model: ${field}: ${problem}`, { ...options, details: { field, ...options.details } })
  }
}

/** An encoded model larger than MAX_MODEL_BYTES; refused before decoding. */
export class ModelTooLargeError extends BaseError {
  static override readonly code = 'CW_MODEL_TOO_LARGE'
  override name = 'ModelTooLargeError'
  constructor(size: number, max: number) {
    super(`model of ${size} bytes exceeds its cap of ${max} bytes`, { details: { size, max } })
  }
}

/** A node whose op (or an attribute of it) is outside the supported set. `details` names op and node. */
export class UnsupportedOpError extends BaseError {
  static override readonly code = 'CW_MODEL_UNSUPPORTED_OP'
  override name = 'UnsupportedOpError'
  constructor(op: string, node: string, problem = 'is not in the supported set', options: BaseErrorOptions = {}) {
    super(`op ${op} (node ${JSON.stringify(node)}) ${problem}`, { ...options, details: { op, node, ...options.details } })
  }
}

/** A named initializer that a model lacks, or a replacement whose dtype or shape differs. */
export class InitializerMismatchError extends BaseError {
  static override readonly code = 'CW_MODEL_INITIALIZER'
  override name = 'InitializerMismatchError'
  constructor(tensor: string, problem: string, options: BaseErrorOptions = {}) {
    super(`initializer ${JSON.stringify(tensor)}: ${problem}`, { ...options, details: { tensor, ...options.details } })
  }
}

// --- contracts (protocols/contracts) ---------------------------------------------------------

/** A read of a fleet contract failed: the node is unreachable, or no such contract answers there. */
export class ContractReadError extends BaseError {
  static override readonly code = 'CW_CONTRACT_READ'
  override name = 'ContractReadError'
  constructor(call: string, options: BaseErrorOptions = {}) {
    super(`cannot read ${call}`, { ...options, details: { call, ...options.details } })
  }
}

/** A round's record and its settlement on chain disagree (another round or fleet, or a contributions root its leaves do not rebuild): no claim or audit can rely on it. `details.field` names what. */
export class RecordChainMismatchError extends BaseError {
  static override readonly code = 'CW_RECORD_CHAIN_MISMATCH'
  override name = 'RecordChainMismatchError'
  constructor(round: bigint, field: string, onChain: string, recorded: string, options: BaseErrorOptions = {}) {
    super(`round ${round}: the record's ${field} is ${recorded}, the chain's is ${onChain}`, {
      ...options,
      details: { round: round.toString(), field, onChain, recorded, ...options.details },
    })
  }
}

/** A configuration file (fleet.json, device.json, gateway.json, …) that is missing, not JSON, or fails its schema. `details.field` names the field. */
export class ConfigError extends BaseError {
  static override readonly code = 'CW_CONFIG'
  override name = 'ConfigError'
  constructor(file: string, field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${file}: ${field === '' ? '' : `${field}: `}${problem}`, { ...options, details: { file, field, ...options.details } })
  }
}

/**
 * A privacy option combined with a strategy it cannot run with (central DP or secure aggregation
 * needs a mean of the updates; median, trimmed mean and Krum need each update in the clear).
 */
export class PrivacyStrategyError extends BaseError {
  static override readonly code = 'CW_PRIVACY_STRATEGY'
  override name = 'PrivacyStrategyError'
  constructor(strategy: string, option: string, problem: string) {
    super(`strategy ${JSON.stringify(strategy)} cannot run with ${option}: ${problem}`, { details: { strategy, option } })
  }
}

/** Secure-aggregation parameters that cannot work: too few neighbours, a threshold above them, a fixed-point range the ring cannot hold. */
export class SecAggParamsError extends BaseError {
  static override readonly code = 'CW_SECAGG_PARAMS'
  override name = 'SecAggParamsError'
  constructor(field: string, problem: string) {
    super(`secure aggregation: ${field}: ${problem}`, { details: { field } })
  }
}

/** A secure-aggregation message that breaks the protocol: wrong round or sender, wrong size, asked to reveal what must stay secret. */
export class SecAggProtocolError extends BaseError {
  static override readonly code = 'CW_SECAGG_PROTOCOL'
  override name = 'SecAggProtocolError'
  constructor(message: string, problem: string, details: Record<string, unknown> = {}) {
    super(`secure aggregation: ${message}: ${problem}`, { details: { message, ...details } })
  }
}

/** Too few valid shares to recover a device's mask: more devices dropped out than the threshold allows. */
export class SecAggRecoveryError extends BaseError {
  static override readonly code = 'CW_SECAGG_RECOVERY'
  override name = 'SecAggRecoveryError'
  constructor(device: string, kind: string, have: number, need: number) {
    super(`secure aggregation: the ${kind} secret of ${device} needs ${need} valid shares, ${have} arrived`, { details: { device, kind, have, need } })
  }
}
