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
