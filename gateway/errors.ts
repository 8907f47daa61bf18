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

/** A validation set (a CSV file or arrays) that is malformed; `details` name the file, line or field. */
export class ValidationSetError extends BaseError {
  static override readonly code = 'CW_VALIDATION_SET'
  override name = 'ValidationSetError'
  constructor(source: string, problem: string, options: BaseErrorOptions = {}) {
    super(`validation set ${source}: ${problem}`, { ...options, details: { source, ...options.details } })
  }
}

/** A model that cannot be scored on the validation set (inputs or outputs that do not fit it, or an engine failure). */
export class EvaluationError extends BaseError {
  static override readonly code = 'CW_EVALUATION'
  override name = 'EvaluationError'
  constructor(problem: string, options: BaseErrorOptions = {}) {
    super(`evaluation: ${problem}`, options)
  }
}

// --- settlement (gateway/settlement) ------------------------------------------------------------
// The chain client's errors (connection, transactions, and one class per custom error of the
// contracts in protocols/contracts/src) live in hardware/errors.ts with the client itself
// (hardware/chain), which provisioning shares; they are re-exported here unchanged.
export {
  ChainIdMismatchError,
  ChainUnavailableError,
  SettlementConfigError,
  TransactionFailedError,
  ConfirmationTimeoutError,
  EmbeddedChainError,
  ContractRevertError,
  NotOwnerError,
  NotGatewayError,
  WrongFleetError,
  RoundAlreadySettledError,
  ModelAlreadySettledError,
  RoundNotSettledError,
  InvalidProofError,
  AlreadyClaimedError,
  NothingToClaimError,
  ClaimNotExpiredError,
  DeviceAlreadyRegisteredError,
  DeviceRevokedError,
  DeviceNotRegisteredError,
  ContractArgumentError,
  ContractBatchTooLargeError,
  RewardTokenError,
} from '../hardware/errors.js'

/** The round is settled on chain, but with other values than the ones this gateway would settle. */
export class SettlementConflictError extends BaseError {
  static override readonly code = 'CW_SETTLEMENT_CONFLICT'
  override name = 'SettlementConflictError'
  constructor(round: bigint, field: string, onChain: string, local: string) {
    super(`round ${round} is settled on chain with another ${field}`, { details: { round: round.toString(), field, onChain, local } })
  }
}

/** A cumulative fleet's totals before a round cannot be rebuilt (a settled round's record is missing), or would lower a device's total: the round is not settled. */
export class CumulativeTotalsError extends BaseError {
  static override readonly code = 'CW_CUMULATIVE_TOTALS'
  override name = 'CumulativeTotalsError'
  constructor(round: bigint, problem: string) {
    super(`round ${round}: ${problem}`, { details: { round: round.toString(), problem } })
  }
}


// --- daemon (gateway/daemon) --------------------------------------------------------------------

/** A round was asked to start while another one runs (HTTP 409 from POST /rounds). */
export class RoundRunningError extends BaseError {
  static override readonly code = 'CW_ROUND_RUNNING'
  override name = 'RoundRunningError'
  constructor(round: string | undefined, state: string) {
    super(`round ${round ?? '(starting)'} is ${state}: wait for it to finish`, { details: { round, state } })
  }
}

/** A round cannot start: no device is registered (and not revoked) on the fleet's registry. */
export class NoEligibleDevicesError extends BaseError {
  static override readonly code = 'CW_NO_ELIGIBLE_DEVICES'
  override name = 'NoEligibleDevicesError'
  constructor(registry: string) {
    super(`no device is registered and unrevoked on registry ${registry}`, { details: { registry } })
  }
}

/** An HTTP request the gateway API refuses: unknown path, wrong method, a body too large or malformed. `details.status` is the HTTP status. */
export class ApiRequestError extends BaseError {
  static override readonly code = 'CW_API_REQUEST'
  override name = 'ApiRequestError'
  constructor(status: number, problem: string, options: BaseErrorOptions = {}) {
    super(problem, { ...options, details: { status, ...options.details } })
  }
}

/** The gateway API answered a CLI call with an error; `details.remoteCode` is the code it gave. */
export class GatewayApiError extends BaseError {
  static override readonly code = 'CW_GATEWAY_API'
  override name = 'GatewayApiError'
  constructor(status: number, remoteCode: string, message: string) {
    super(`gateway API (${status}) ${remoteCode}: ${message}`, { details: { status, remoteCode } })
  }
}

/** No gateway daemon answers for this data directory: no api.json, or nothing listens at its URL. */
export class GatewayNotRunningError extends BaseError {
  static override readonly code = 'CW_GATEWAY_NOT_RUNNING'
  override name = 'GatewayNotRunningError'
  constructor(dataDir: string, problem: string, options: BaseErrorOptions = {}) {
    super(`no gateway is running for ${dataDir}: ${problem}`, { ...options, details: { dataDir, ...options.details } })
  }
}

/** `cw gateway init` cannot prepare the gateway as asked (its key is missing and --generate-key was not given). */
export class GatewayInitError extends BaseError {
  static override readonly code = 'CW_GATEWAY_INIT'
  override name = 'GatewayInitError'
  constructor(file: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${file}: ${problem}`, { ...options, details: { file, ...options.details } })
  }
}

// --- dashboard (gateway/dashboard) ---------------------------------------------------------------

/** A dashboard request without a valid session, or a sign-in link that is malformed, expired, used, or not signed by an operator (HTTP 401). `details.reason` says which. */
export class DashboardAuthError extends BaseError {
  static override readonly code = 'CW_DASHBOARD_AUTH'
  override name = 'DashboardAuthError'
  constructor(reason: string, problem: string, options: BaseErrorOptions = {}) {
    super(problem, { ...options, details: { reason, ...options.details } })
  }
}

/** The dashboard's browser code could not be built or read (no dist/ bundle and no esbuild). */
export class DashboardAssetsError extends BaseError {
  static override readonly code = 'CW_DASHBOARD_ASSETS'
  override name = 'DashboardAssetsError'
  constructor(problem: string, options: BaseErrorOptions = {}) {
    super(`dashboard assets: ${problem}`, options)
  }
}
