// Every error provisioning throws. Callers match on `code` (stable) or `name`, never on the
// message text. Each code is documented in docs/errors.md (test/errors-documented.test.ts).
// Sections are per concern; append yours below the last one.
import { BaseError, type BaseErrorOptions } from '../protocols/errors.js'

// --- enrolment requests ----------------------------------------------------------------------

/** An enrolment request that does not decode, or whose hardware profile or key location fails its schema. `details.field` names the part. */
export class EnrolmentRequestFormatError extends BaseError {
  static override readonly code = 'CW_ENROL_REQUEST_FORMAT'
  override name = 'EnrolmentRequestFormatError'
  constructor(source: string, field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${source}: enrolment request: ${field}: ${problem}`, { ...options, details: { source, field, ...options.details } })
  }
}

/** A request whose signature does not recover its device address (it was altered after signing, or forged), or whose rotation endorsement is not by the previous key. */
export class EnrolmentSignatureError extends BaseError {
  static override readonly code = 'CW_ENROL_SIGNATURE'
  override name = 'EnrolmentSignatureError'
  constructor(source: string, device: string, which: 'signature' | 'endorsement', options: BaseErrorOptions = {}) {
    super(
      which === 'signature'
        ? `${source}: the request's signature is not by device ${device} (altered or forged)`
        : `${source}: the rotation's endorsement is not by the previous key`,
      { ...options, details: { source, device, which, ...options.details } },
    )
  }
}

/** A request made for another fleet: its fleet id, chain id or registry differs from this fleet's. */
export class EnrolmentFleetMismatchError extends BaseError {
  static override readonly code = 'CW_ENROL_FLEET_MISMATCH'
  override name = 'EnrolmentFleetMismatchError'
  constructor(source: string, field: 'fleet' | 'chainId' | 'registry', requested: string, expected: string, options: BaseErrorOptions = {}) {
    super(`${source}: the request is for ${field} ${requested}, this fleet's is ${expected}`, {
      ...options,
      details: { source, field, requested, expected, ...options.details },
    })
  }
}

/** A request made too long ago (older than the maximum request age) or in the future. */
export class EnrolmentRequestStaleError extends BaseError {
  static override readonly code = 'CW_ENROL_REQUEST_STALE'
  override name = 'EnrolmentRequestStaleError'
  constructor(source: string, createdAt: number, now: number, maxAgeSeconds: number, options: BaseErrorOptions = {}) {
    super(`${source}: the request was made at ${createdAt}, now is ${now} (accepted: at most ${maxAgeSeconds} s old, not in the future)`, {
      ...options,
      details: { source, createdAt, now, maxAgeSeconds, ...options.details },
    })
  }
}

// --- certificates ----------------------------------------------------------------------------

/** A DeviceCertificate outside its validity window (expired, or not yet valid). */
export class CertificateExpiredError extends BaseError {
  static override readonly code = 'CW_CERTIFICATE_EXPIRED'
  override name = 'CertificateExpiredError'
  constructor(device: string, validFrom: bigint, validUntil: bigint, now: bigint, options: BaseErrorOptions = {}) {
    super(`the certificate of ${device} is valid ${validFrom}..${validUntil}, now is ${now}`, {
      ...options,
      details: { device, validFrom: validFrom.toString(), validUntil: validUntil.toString(), now: now.toString(), ...options.details },
    })
  }
}

/** A DeviceCertificate not signed by this fleet's owner, or naming another device, fleet or peer. */
export class CertificateInvalidError extends BaseError {
  static override readonly code = 'CW_CERTIFICATE_INVALID'
  override name = 'CertificateInvalidError'
  constructor(device: string, problem: string, options: BaseErrorOptions = {}) {
    super(`the certificate of ${device}: ${problem}`, { ...options, details: { device, ...options.details } })
  }
}

// --- bulk enrolment (CSV) --------------------------------------------------------------------

/** A CSV file that cannot be used at all: too large, no header, no `request` column, too many rows. */
export class CsvFormatError extends BaseError {
  static override readonly code = 'CW_ENROL_CSV_FORMAT'
  override name = 'CsvFormatError'
  constructor(file: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${file}: ${problem}`, { ...options, details: { file, ...options.details } })
  }
}

/** One CSV row that cannot be used; the other rows are processed. `details.line` is its 1-based line number. */
export class CsvRowError extends BaseError {
  static override readonly code = 'CW_ENROL_CSV_ROW'
  override name = 'CsvRowError'
  constructor(file: string, line: number, column: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${file}:${line}: ${column}: ${problem}`, { ...options, details: { file, line, column, ...options.details } })
  }
}

// --- key stores, owner and state -------------------------------------------------------------

/** The key store a command needs is not there: its configuration file, its directory, its PKCS#11 module or its token. The cause says which. */
export class KeyStoreMissingError extends BaseError {
  static override readonly code = 'CW_PROVISION_KEY_STORE_MISSING'
  override name = 'KeyStoreMissingError'
  constructor(what: string, problem: string, options: BaseErrorOptions = {}) {
    super(`key store ${what}: ${problem}`, { ...options, details: { what, ...options.details } })
  }
}

/** The key used as the fleet owner is not the owner fleet.json (or the registry on chain) names. */
export class OwnerMismatchError extends BaseError {
  static override readonly code = 'CW_PROVISION_NOT_OWNER'
  override name = 'OwnerMismatchError'
  constructor(expected: string, actual: string, options: BaseErrorOptions = {}) {
    super(`the fleet's owner is ${expected}, the key given is ${actual}`, { ...options, details: { expected, actual, ...options.details } })
  }
}

/** A device that cannot be enrolled as asked: it is already enrolled elsewhere (on chain with another certificate, or revoked), appears twice in a run, or its bundle path holds another device's bundle. */
export class DeviceConflictError extends BaseError {
  static override readonly code = 'CW_PROVISION_DEVICE_CONFLICT'
  override name = 'DeviceConflictError'
  constructor(device: string, problem: string, options: BaseErrorOptions = {}) {
    super(`device ${device}: ${problem}`, { ...options, details: { device, ...options.details } })
  }
}

/** A key rotation that cannot go ahead: the previous device is unknown here, not registered, revoked, or of another serial. */
export class RotationError extends BaseError {
  static override readonly code = 'CW_PROVISION_ROTATION'
  override name = 'RotationError'
  constructor(previous: string, problem: string, options: BaseErrorOptions = {}) {
    super(`rotation from ${previous}: ${problem}`, { ...options, details: { previous, ...options.details } })
  }
}

/** The provisioning journal (the owner's local record of enrolled devices) has a malformed line that is not its last. */
export class JournalError extends BaseError {
  static override readonly code = 'CW_PROVISION_JOURNAL'
  override name = 'JournalError'
  constructor(file: string, problem: string, options: BaseErrorOptions = {}) {
    super(`${file}: ${problem}`, { ...options, details: { file, ...options.details } })
  }
}

/** Another provisioning run holds the state directory's lock. */
export class ProvisioningBusyError extends BaseError {
  static override readonly code = 'CW_PROVISION_BUSY'
  override name = 'ProvisioningBusyError'
  constructor(lock: string, pid: number, options: BaseErrorOptions = {}) {
    super(`${lock} is held by process ${pid}; wait for it, or remove the file if that process is gone`, { ...options, details: { lock, pid, ...options.details } })
  }
}

/** fleet init: the file to write exists, the contracts to attach to do not fit together, or the chain settings are unusable. */
export class FleetSetupError extends BaseError {
  static override readonly code = 'CW_PROVISION_FLEET_SETUP'
  override name = 'FleetSetupError'
  constructor(field: string, problem: string, options: BaseErrorOptions = {}) {
    super(`fleet setup: ${field}: ${problem}`, { ...options, details: { field, ...options.details } })
  }
}
