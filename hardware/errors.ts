// Every error the hardware layer throws. Callers match on `code` (stable) or `name`, never on the
// message text. Each code is documented in docs/errors.md; test/errors-documented.test.ts keeps
// the two in step. Sections are per sub-folder; append yours below the last one.
import { BaseError, type BaseErrorOptions } from '../protocols/errors.js'

// --- key stores (hardware/keys) --------------------------------------------------------------

/** A label that names no key in the store. */
export class KeyNotFoundError extends BaseError {
  static override readonly code = 'CW_KEY_NOT_FOUND'
  override name = 'KeyNotFoundError'
  constructor(store: string, label: string, options: BaseErrorOptions = {}) {
    super(`${store} key store has no key labelled ${JSON.stringify(label)}`, {
      ...options,
      details: { store, label, ...options.details },
    })
  }
}

/** `generate` asked for a label that is already taken; the existing key is left untouched. */
export class KeyExistsError extends BaseError {
  static override readonly code = 'CW_KEY_EXISTS'
  override name = 'KeyExistsError'
  constructor(store: string, label: string, options: BaseErrorOptions = {}) {
    super(`${store} key store already holds a key labelled ${JSON.stringify(label)}`, {
      ...options,
      details: { store, label, ...options.details },
    })
  }
}

/** A key store, or a signer opened from it, used after `close()`. */
export class KeyStoreClosedError extends BaseError {
  static override readonly code = 'CW_KEY_STORE_CLOSED'
  override name = 'KeyStoreClosedError'
  constructor(store: string, options: BaseErrorOptions = {}) {
    super(`${store} key store is closed`, { ...options, details: { store, ...options.details } })
  }
}

/**
 * A password or PIN that cannot be had from its configured source: the environment variable is
 * unset or empty, or the file is missing, unreadable, empty or too large. The details name the
 * source, never the secret.
 */
export class SecretUnavailableError extends BaseError {
  static override readonly code = 'CW_SECRET_UNAVAILABLE'
  override name = 'SecretUnavailableError'
  constructor(secret: string, source: 'env' | 'file', name: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${secret} from ${source === 'env' ? 'environment variable' : 'file'} ${name}: ${problem}`, {
      ...options,
      details: { secret, source, name, ...options.details },
    })
  }
}

/**
 * Key material a store cannot read: a key file that is not a Web3 Secret Storage v3 document it
 * accepts, or a token's CKA_EC_POINT that is not a secp256k1 point. `details.field` names the part.
 */
export class KeyFormatError extends BaseError {
  static override readonly code = 'CW_KEY_FORMAT'
  override name = 'KeyFormatError'
  constructor(field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`key: ${field}: ${problem}`, { ...options, details: { field, ...options.details } })
  }
}

/** A key file whose MAC does not match: a wrong password, or a file that was altered. */
export class KeyDecryptError extends BaseError {
  static override readonly code = 'CW_KEY_FILE_DECRYPT'
  override name = 'KeyDecryptError'
  constructor(options: BaseErrorOptions = {}) {
    super('key file does not decrypt: wrong password or altered file (MAC mismatch)', options)
  }
}

/** The file key store could not read or write its directory. `details.path` and `details.errno` say where and why. */
export class KeyStoreIoError extends BaseError {
  static override readonly code = 'CW_KEY_STORE_IO'
  override name = 'KeyStoreIoError'
  constructor(path: string, operation: string, options: BaseErrorOptions = {}) {
    const errno = (options.cause as { code?: unknown } | undefined)?.code
    super(`cannot ${operation} ${path}${typeof errno === 'string' ? ` (${errno})` : ''}`, {
      ...options,
      details: { path, operation, ...(typeof errno === 'string' ? { errno } : {}), ...options.details },
    })
  }
}

/** A PKCS#11 shared library that cannot be loaded or initialised. */
export class Pkcs11LoadError extends BaseError {
  static override readonly code = 'CW_PKCS11_LOAD'
  override name = 'Pkcs11LoadError'
  constructor(module: string, options: BaseErrorOptions = {}) {
    super(`cannot load PKCS#11 module ${module}`, { ...options, details: { module, ...options.details } })
  }
}

/**
 * A PKCS#11 call that failed with a return code that has no more specific class.
 * `details.rc` is the CK_RV number, `details.rcName` its CKR_ name and `details.method` the call.
 */
export class Pkcs11Error extends BaseError {
  static override readonly code = 'CW_PKCS11'
  override name = 'Pkcs11Error'
  constructor(method: string, rc: number, rcName: string, options: BaseErrorOptions = {}) {
    super(`${method} failed: ${rcName} (0x${rc.toString(16)})`, {
      ...options,
      details: { method, rc, rcName, ...options.details },
    })
  }
}

/** The token refused the user PIN (CKR_PIN_INCORRECT, CKR_PIN_LEN_RANGE). The PIN itself is never in the error. */
export class PinIncorrectError extends BaseError {
  static override readonly code = 'CW_PKCS11_PIN_INCORRECT'
  override name = 'PinIncorrectError'
  constructor(rc: number, rcName: string, options: BaseErrorOptions = {}) {
    super(`the token refused the PIN: ${rcName}`, { ...options, details: { rc, rcName, ...options.details } })
  }
}

/** The token's user PIN is locked after too many wrong tries (CKR_PIN_LOCKED); only the SO can unlock it. */
export class PinLockedError extends BaseError {
  static override readonly code = 'CW_PKCS11_PIN_LOCKED'
  override name = 'PinLockedError'
  constructor(rc: number, rcName: string, options: BaseErrorOptions = {}) {
    super(`the token's PIN is locked: ${rcName}`, { ...options, details: { rc, rcName, ...options.details } })
  }
}

/**
 * No token matches the configuration: no slot holds a token with that label, the slot id is
 * invalid, or the token is absent or removed. `details.rc`/`rcName` are set when the module said so.
 */
export class TokenNotFoundError extends BaseError {
  static override readonly code = 'CW_PKCS11_TOKEN_NOT_FOUND'
  override name = 'TokenNotFoundError'
  constructor(token: string, problem: string, options: BaseErrorOptions = {}) {
    super(`PKCS#11 token ${token}: ${problem}`, { ...options, details: { token, ...options.details } })
  }
}

// --- accelerators (hardware/accelerators) ----------------------------------------------------

/** A HardwareProfile that does not validate. `details.field` names the offending field. */
export class HardwareProfileError extends BaseError {
  static override readonly code = 'CW_HARDWARE_PROFILE'
  override name = 'HardwareProfileError'
  constructor(field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`hardware profile: ${field}: ${problem}`, { ...options, details: { field, ...options.details } })
  }
}

// --- sensors (hardware/sensors) --------------------------------------------------------------

/** A sensor config that fails validation. `details.field` names the offending field (dotted path). */
export class SensorConfigError extends BaseError {
  static override readonly code = 'CW_SENSOR_CONFIG'
  override name = 'SensorConfigError'
  constructor(driver: string, field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${driver} sensor config: ${field === '' ? '(root)' : field}: ${problem}`, {
      ...options,
      details: { driver, field, problem, ...options.details },
    })
  }
}

/** A sensor that could not be opened: a missing port or file, a board that never answered. */
export class SensorOpenError extends BaseError {
  static override readonly code = 'CW_SENSOR_OPEN'
  override name = 'SensorOpenError'
  constructor(sensor: string, problem: string, options: BaseErrorOptions = {}) {
    super(`sensor ${JSON.stringify(sensor)} did not open: ${problem}`, {
      ...options,
      details: { sensor, ...options.details },
    })
  }
}

/** An operation the sensor's current status does not allow, e.g. reading from a closed sensor. */
export class SensorStateError extends BaseError {
  static override readonly code = 'CW_SENSOR_STATE'
  override name = 'SensorStateError'
  constructor(sensor: string, operation: string, status: string, options: BaseErrorOptions = {}) {
    super(`sensor ${JSON.stringify(sensor)}: cannot ${operation} while ${status}`, {
      ...options,
      details: { sensor, operation, status, ...options.details },
    })
  }
}

/** A disconnected sensor that did not come back within its reconnect attempts. */
export class SensorReconnectFailedError extends BaseError {
  static override readonly code = 'CW_SENSOR_RECONNECT_FAILED'
  override name = 'SensorReconnectFailedError'
  constructor(sensor: string, attempts: number, options: BaseErrorOptions = {}) {
    super(`sensor ${JSON.stringify(sensor)} did not reconnect after ${attempts} attempts`, {
      ...options,
      details: { sensor, attempts, ...options.details },
    })
  }
}

/** A replay file that is not the CSV the config describes. `details.line` is 1-based (0: the whole file). */
export class ReplayFormatError extends BaseError {
  static override readonly code = 'CW_SENSOR_REPLAY_FORMAT'
  override name = 'ReplayFormatError'
  constructor(file: string, line: number, problem: string, options: BaseErrorOptions = {}) {
    super(`replay file ${JSON.stringify(file)} line ${line}: ${problem}`, {
      ...options,
      details: { file, line, ...options.details },
    })
  }
}

/** A Firmata board that broke the handshake or lacks what the config asks of it (`details.pin`). */
export class FirmataError extends BaseError {
  static override readonly code = 'CW_SENSOR_FIRMATA'
  override name = 'FirmataError'
  constructor(sensor: string, problem: string, options: BaseErrorOptions = {}) {
    super(`firmata sensor ${JSON.stringify(sensor)}: ${problem}`, {
      ...options,
      details: { sensor, ...options.details },
    })
  }
}

// --- inference engines (hardware/inference) --------------------------------------------------

/** Model bytes that the runtime cannot load: not ONNX, truncated, over the cap, or an unsupported op. */
export class ModelLoadError extends BaseError {
  static override readonly code = 'CW_MODEL_LOAD'
  override name = 'ModelLoadError'
  constructor(engine: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${engine} cannot load the model: ${problem}`, { ...options, details: { engine, ...options.details } })
  }
}

/** An input that does not fit the model: missing, unknown, of the wrong dtype or shape. `details.input` names it. */
export class InferenceInputError extends BaseError {
  static override readonly code = 'CW_INFERENCE_INPUT'
  override name = 'InferenceInputError'
  constructor(input: string, problem: string, options: BaseErrorOptions = {}) {
    super(`input ${JSON.stringify(input)}: ${problem}`, { ...options, details: { input, ...options.details } })
  }
}

/** `run` before `load`, or after `dispose`. */
export class EngineStateError extends BaseError {
  static override readonly code = 'CW_ENGINE_STATE'
  override name = 'EngineStateError'
  constructor(engine: string, problem: string) {
    super(`${engine}: ${problem}`, { details: { engine } })
  }
}

/** An engine asked for that is not installed here (onnxruntime-node is optional). */
export class EngineUnavailableError extends BaseError {
  static override readonly code = 'CW_ENGINE_UNAVAILABLE'
  override name = 'EngineUnavailableError'
  constructor(engine: string, options: BaseErrorOptions = {}) {
    super(`inference engine ${engine} is not available here`, { ...options, details: { engine, ...options.details } })
  }
}

/** The runtime failed while running a model whose inputs had been checked. */
export class InferenceRunError extends BaseError {
  static override readonly code = 'CW_INFERENCE_RUN'
  override name = 'InferenceRunError'
  constructor(engine: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${engine} failed to run the model: ${problem}`, { ...options, details: { engine, ...options.details } })
  }
}

// --- transport key (hardware/keys/transport-key.ts) -----------------------------------------

/** The libp2p transport key file exists but does not hold a key. */
export class TransportKeyError extends BaseError {
  static override readonly code = 'CW_TRANSPORT_KEY'
  override name = 'TransportKeyError'
  constructor(file: string, problem: string, options: BaseErrorOptions = {}) {
    super(`transport key ${file}: ${problem}`, { ...options, details: { file, ...options.details } })
  }
}

// --- chain (hardware/chain) ----------------------------------------------------------------
// The chain client shared by the gateway's settlement and provisioning. Every custom error of the
// contracts in protocols/contracts/src decodes into one class here (decodeContractError);
// `details.errorName` keeps the Solidity name and `details.args` its values.

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

/** The sending account holds too little ether for the transaction's gas (and value). */
export class InsufficientFundsError extends BaseError {
  static override readonly code = 'CW_CHAIN_INSUFFICIENT_FUNDS'
  override name = 'InsufficientFundsError'
  constructor(problem: string, options: BaseErrorOptions = {}) {
    super(`the sending account cannot pay for gas: ${problem}`, options)
  }
}

/** `cw chain fund` against a node that is not a development chain (it has no `hardhat_setBalance`/`anvil_setBalance`). */
export class NotDevelopmentChainError extends BaseError {
  static override readonly code = 'CW_CHAIN_NOT_DEVELOPMENT'
  override name = 'NotDevelopmentChainError'
  constructor(url: string, options: BaseErrorOptions = {}) {
    super(`${url} is not a development chain (it sets no balances): send ether to the address from a funded account instead`, { ...options, details: { url } })
  }
}

/** A JSON-RPC request the node answered with an error that no other class names; viem's short message and details. */
export class ChainRequestError extends BaseError {
  static override readonly code = 'CW_CHAIN_REQUEST'
  override name = 'ChainRequestError'
  constructor(problem: string, options: BaseErrorOptions = {}) {
    super(`chain request failed: ${problem}`, options)
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
/** `NothingToClaim`: the leaf's cumulative total is not above what the device has claimed (an older root, or a repeated claim). */
export class NothingToClaimError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_NOTHING_TO_CLAIM'
  override name = 'NothingToClaimError'
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
/** A call's arguments that the contract refuses: `ZeroAddress`, `ZeroFleet`, `ZeroValue`, `EmptyBatch`, `NoClaims`, `LengthMismatch`, `InvalidCertificateHash`, `RoundOutOfRange`, `RewardTotalTooLarge`, `ModelNotOfRound`, `OwnableInvalidOwner`. */
export class ContractArgumentError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_BAD_ARGUMENT'
  override name = 'ContractArgumentError'
}
/** `BatchTooLarge` or `TooManyClaims`: more items in one call than the contract takes. */
export class ContractBatchTooLargeError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_BATCH_TOO_LARGE'
  override name = 'ContractBatchTooLargeError'
}
/** An ERC-20 error of the reward token (`ERC20InsufficientBalance`, `ERC20InsufficientAllowance`, …), or `SupplyOverflow` (more than 2^128 - 1 units minted). */
export class RewardTokenError extends ContractRevertError {
  static override readonly code = 'CW_CHAIN_TOKEN'
  override name = 'RewardTokenError'
}
