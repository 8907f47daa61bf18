// Every error the gateway throws. Callers match on `code` (stable) or `name`, never on the message
// text. Each code is documented in docs/errors.md; test/errors-documented.test.ts keeps the two in
// step. Sections are per sub-folder; append yours below the last one.
import { BaseError, type BaseErrorOptions } from '../protocols/errors.js'

// --- rounds (gateway/rounds) -----------------------------------------------------------------

/** A round operation that its persisted state does not allow (e.g. an update to a round that is aggregating). */
export class RoundStateError extends BaseError {
  static override readonly code = 'CW_ROUND_STATE'
  override name = 'RoundStateError'
  constructor(round: bigint | undefined, state: string | undefined, problem: string, options: BaseErrorOptions = {}) {
    super(`round ${round ?? '(none)'}${state === undefined ? '' : ` (${state})`}: ${problem}`, {
      ...options,
      details: { round: round?.toString(), state, ...options.details },
    })
  }
}

/** A round configuration that fails validation; `details.field` names the field. */
export class RoundConfigError extends BaseError {
  static override readonly code = 'CW_ROUND_CONFIG'
  override name = 'RoundConfigError'
  constructor(field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`round config: ${field}: ${problem}`, { ...options, details: { field, ...options.details } })
  }
}

// --- settlement (gateway/settlement) ------------------------------------------------------------
// Every custom error of the contracts in protocols/contracts/src decodes into one class here
// (decodeContractError); `details.errorName` keeps the Solidity name and `details.args` its values.

/** The JSON-RPC node serves another chain than the one configured. */
export class ChainIdMismatchError extends BaseError {
  static override readonly code = 'CW_CHAIN_ID_MISMATCH'
  override name = 'ChainIdMismatchError'
  constructor(expected: number, actual: number) {
    super(`the node serves chain ${actual}, configured chain is ${expected}`, { details: { expected, actual } })
  }
}

/** The node could not be reached (or kept failing) within the operation's deadline. */
export class ChainUnavailableError extends BaseError {
  static override readonly code = 'CW_CHAIN_UNAVAILABLE'
  override name = 'ChainUnavailableError'
  constructor(operation: string, options: BaseErrorOptions = {}) {
    super(`chain unavailable during ${operation}`, { ...options, details: { operation, ...options.details } })
  }
}

/** A settlement configuration that fails validation; `details.field` names the field. */
export class SettlementConfigError extends BaseError {
  static override readonly code = 'CW_SETTLEMENT_CONFIG'
  override name = 'SettlementConfigError'
  constructor(field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`settlement config: ${field}: ${problem}`, { ...options, details: { field, ...options.details } })
  }
}

/** The round is settled on chain, but with other values than the ones this gateway would settle. */
export class SettlementConflictError extends BaseError {
  static override readonly code = 'CW_SETTLEMENT_CONFLICT'
  override name = 'SettlementConflictError'
  constructor(round: bigint, field: string, onChain: string, local: string) {
    super(`round ${round} is settled on chain with another ${field}`, { details: { round: round.toString(), field, onChain, local } })
  }
}

/** A transaction reverted without a known custom error, or was dropped and cannot be re-sent. */
export class TransactionFailedError extends BaseError {
  static override readonly code = 'CW_CHAIN_TX_FAILED'
  override name = 'TransactionFailedError'
  constructor(hash: string | undefined, problem: string, options: BaseErrorOptions = {}) {
    super(`transaction ${hash ?? '(unsent)'}: ${problem}`, { ...options, details: { hash, ...options.details } })
  }
}

/** A transaction was not mined and confirmed within the operation's deadline; it may still be. */
export class ConfirmationTimeoutError extends BaseError {
  static override readonly code = 'CW_CHAIN_CONFIRMATION_TIMEOUT'
  override name = 'ConfirmationTimeoutError'
  constructor(hash: string, timeoutMs: number) {
    super(`transaction ${hash} was not confirmed within ${timeoutMs} ms`, { details: { hash, timeoutMs } })
  }
}

/** The embedded in-process EVM could not start or answered with an internal error. */
export class EmbeddedChainError extends BaseError {
  static override readonly code = 'CW_CHAIN_EMBEDDED'
  override name = 'EmbeddedChainError'
  constructor(problem: string, options: BaseErrorOptions = {}) {
    super(`embedded chain: ${problem}`, options)
  }
}

/** A contract call reverted with a custom error; the subclasses below name each one. */
export class ContractRevertError extends BaseError {
  static override readonly code: string = 'CW_CONTRACT_REVERT'
  override name = 'ContractRevertError'
  constructor(errorName: string, args: readonly unknown[], options: BaseErrorOptions = {}) {
    super(`contract reverted with ${errorName}(${args.map(String).join(', ')})`, {
      ...options,
      details: { errorName, args: args.map((a) => (typeof a === 'bigint' ? a.toString() : a)), ...options.details },
    })
  }
}

/** `OwnableUnauthorizedAccount`: only the fleet owner may do this (register, revoke, authorise, sweep). */
export class NotOwnerError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_NOT_OWNER'
  override name = 'NotOwnerError'
}
/** `NotGateway`: the sender is not a gateway that the fleet's registry authorises. */
export class NotGatewayError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_NOT_GATEWAY'
  override name = 'NotGatewayError'
}
/** `WrongFleet`: the settlement names another fleet than the ledger's. */
export class WrongFleetError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_WRONG_FLEET'
  override name = 'WrongFleetError'
}
/** `RoundAlreadySettled`: a second settlement of the same round. */
export class RoundAlreadySettledError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_ROUND_ALREADY_SETTLED'
  override name = 'RoundAlreadySettledError'
}
/** `ModelAlreadySettled`: another round already produced this model hash. */
export class ModelAlreadySettledError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_MODEL_ALREADY_SETTLED'
  override name = 'ModelAlreadySettledError'
}
/** `RoundNotSettled`: a claim or sweep for a round the ledger has no settlement of. */
export class RoundNotSettledError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_ROUND_NOT_SETTLED'
  override name = 'RoundNotSettledError'
}
/** `InvalidProof`: the leaf and proof do not hash up to the round's contributions root. */
export class InvalidProofError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_INVALID_PROOF'
  override name = 'InvalidProofError'
}
/** `AlreadyClaimed`: the leaf was claimed or swept before. */
export class AlreadyClaimedError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_ALREADY_CLAIMED'
  override name = 'AlreadyClaimedError'
}
/** `ClaimNotExpired`: a sweep before the round's claim expiry. */
export class ClaimNotExpiredError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_CLAIM_NOT_EXPIRED'
  override name = 'ClaimNotExpiredError'
}
/** `DeviceAlreadyRegistered`: a batch names a device that is registered. */
export class DeviceAlreadyRegisteredError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_DEVICE_ALREADY_REGISTERED'
  override name = 'DeviceAlreadyRegisteredError'
}
/** `DeviceIsRevoked`: registering or revoking a revoked device (revocation is final). */
export class DeviceRevokedError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_DEVICE_REVOKED'
  override name = 'DeviceRevokedError'
}
/** `DeviceNotRegistered`: revoking a device that was never registered. */
export class DeviceNotRegisteredError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_DEVICE_NOT_REGISTERED'
  override name = 'DeviceNotRegisteredError'
}
/** A call's arguments that the contract refuses: `ZeroAddress`, `ZeroFleet`, `ZeroValue`, `EmptyBatch`, `NoClaims`, `LengthMismatch`, `InvalidCertificateHash`, `RoundOutOfRange`, `RewardTotalTooLarge`, `OwnableInvalidOwner`. */
export class ContractArgumentError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_BAD_ARGUMENT'
  override name = 'ContractArgumentError'
}
/** `BatchTooLarge` or `TooManyClaims`: more items in one call than the contract takes. */
export class ContractBatchTooLargeError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_BATCH_TOO_LARGE'
  override name = 'ContractBatchTooLargeError'
}
/** An ERC-20 error of the reward token (`ERC20InsufficientBalance`, `ERC20InsufficientAllowance`, …). */
export class RewardTokenError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_TOKEN'
  override name = 'RewardTokenError'
}
