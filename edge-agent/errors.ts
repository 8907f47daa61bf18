// Every error the edge agent throws. Callers match on `code` (stable) or `name`, never on the
// message text. Each code is documented in docs/errors.md (test/errors-documented.test.ts).
import { BaseError, type BaseErrorOptions } from '../protocols/errors.js'

// --- outbox (edge-agent/outbox) ----------------------------------------------------------------

/** The outbox holds its byte budget: the new entry is refused, nothing already queued is dropped. */
export class OutboxFullError extends BaseError {
  static override readonly code = 'CW_OUTBOX_FULL'
  override name = 'OutboxFullError'
  constructor(size: number, held: number, max: number, options: BaseErrorOptions = {}) {
    super(`outbox full: an entry of ${size} bytes does not fit (${held} of ${max} bytes held)`, {
      ...options,
      details: { size, held, max, ...options.details },
    })
  }
}

/** The outbox was used after `close()`. */
export class OutboxClosedError extends BaseError {
  static override readonly code = 'CW_OUTBOX_CLOSED'
  override name = 'OutboxClosedError'
  constructor(options: BaseErrorOptions = {}) {
    super('the outbox is closed', options)
  }
}

// --- transport key (edge-agent/transport-key.ts) ----------------------------------------------

// --- training (edge-agent/training) -----------------------------------------------------------

/** A training step produced a non-finite loss or weight; train() stops with this error and returns no weights. */
export class TrainingDivergedError extends BaseError {
  static override readonly code = 'CW_TRAINING_DIVERGED'
  override name = 'TrainingDivergedError'
  constructor(epoch: number, step: number, what: string, options: BaseErrorOptions = {}) {
    super(`training diverged at epoch ${epoch}, step ${step}: ${what} is not finite`, { ...options, details: { epoch, step, what, ...options.details } })
  }
}

// --- local data set (edge-agent/dataset) -------------------------------------------------------

/** The sample store was used after `close()`. */
export class DatasetClosedError extends BaseError {
  static override readonly code = 'CW_DATASET_CLOSED'
  override name = 'DatasetClosedError'
  constructor(options: BaseErrorOptions = {}) {
    super('the sample store is closed', options)
  }
}

/** A stored sample or the store's metadata does not decode; `details.key` names the record. */
export class DatasetCorruptError extends BaseError {
  static override readonly code = 'CW_DATASET_CORRUPT'
  override name = 'DatasetCorruptError'
  constructor(key: string, problem: string, options: BaseErrorOptions = {}) {
    super(`sample store record ${key}: ${problem}`, { ...options, details: { key, ...options.details } })
  }
}

// --- agent daemon (edge-agent/daemon) ----------------------------------------------------------

/** `cw agent status` found no status file in the agent's data directory: the agent never started there. */
export class AgentStatusMissingError extends BaseError {
  static override readonly code = 'CW_AGENT_NO_STATUS'
  override name = 'AgentStatusMissingError'
  constructor(file: string, options: BaseErrorOptions = {}) {
    super(`no agent status at ${file}: the agent has not run with this configuration`, { ...options, details: { file, ...options.details } })
  }
}

// --- technician console (edge-agent/console) ----------------------------------------------------

/** A console command's arguments are wrong (a missing path, an unknown sensor…); the console goes on. */
export class ConsoleUsageError extends BaseError {
  static override readonly code = 'CW_CONSOLE_USAGE'
  override name = 'ConsoleUsageError'
  constructor(command: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${command}: ${problem}`, { ...options, details: { command, ...options.details } })
  }
}
