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
