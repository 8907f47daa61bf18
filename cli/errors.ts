// The errors of the `cw` program itself. Every other error a command meets is typed by the folder
// that raised it; these name what is left.
import { BaseError, type BaseErrorOptions } from '../protocols/errors.js'

/** A failure that no folder typed (a bug, or an error from a library no mapping knows); `--verbose` prints it in full. */
export class UnexpectedError extends BaseError {
  static override readonly code = 'CW_UNEXPECTED'
  override name = 'UnexpectedError'
  constructor(problem: string, options: BaseErrorOptions = {}) {
    super(problem, options)
  }
}

/** A file or socket the command needed could not be read or written (the system's error code is `details.code`). */
export class IoError extends BaseError {
  static override readonly code = 'CW_IO'
  override name = 'IoError'
  constructor(problem: string, options: BaseErrorOptions = {}) {
    super(problem, options)
  }
}

/** Options that do not fit together or a value of the wrong form (exit code 2); the message names the option. */
export class CliUsageError extends BaseError {
  static override readonly code = 'CW_USAGE'
  override name = 'CliUsageError'
  constructor(problem: string, options: BaseErrorOptions = {}) {
    super(problem, options)
  }
}
