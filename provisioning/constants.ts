// Defaults, caps and file names of provisioning.

const KiB = 1024
const MiB = 1024 * KiB
const DAY = 24 * 3600

/** Key labels used when a command is given none. */
export const DEFAULT_OWNER_KEY_LABEL = 'owner'
export const DEFAULT_DEVICE_KEY_LABEL = 'device'

/** How long a certificate is valid by default, and at most (the uint64 fields allow far more). */
export const DEFAULT_CERTIFICATE_VALIDITY_SECONDS = 365 * DAY
export const MAX_CERTIFICATE_VALIDITY_SECONDS = 10 * 365 * DAY

/**
 * An enrolment request is refused when older than this (a request found in a drawer months later
 * says nothing about the device today) or made further ahead of the owner's clock than the skew.
 */
export const DEFAULT_REQUEST_MAX_AGE_SECONDS = 30 * DAY
export const REQUEST_MAX_SKEW_SECONDS = 300

/** Bulk enrolment: caps checked before the CSV is parsed, and per cell. */
export const MAX_CSV_BYTES = 64 * MiB
export const MAX_CSV_ROWS = 100_000
export const MAX_CSV_FIELD_BYTES = 64 * KiB
/** The columns of an enrolment CSV; `request` is required. */
export const CSV_COLUMNS = ['request', 'bundle', 'sensors'] as const
/** A `request` cell that holds the request itself rather than a file path. */
export const CSV_INLINE_PREFIX = 'base64:'
/** Largest sensors file a CSV row or `--sensors` names. */
export const MAX_SENSORS_FILE_BYTES = 256 * KiB

/** The owner's state directory: the journal of enrolled devices and the lock of a running command. */
export const JOURNAL_FILE = 'journal.jsonl'
export const JOURNAL_VERSION = 1
export const LOCK_FILE = 'lock'
export const MAX_JOURNAL_BYTES = 256 * MiB

/** Reads of device status on chain that run at once. */
export const STATUS_READ_CONCURRENCY = 16

/**
 * A new certificate is valid from this long before it is issued, so that a gateway whose clock is
 * a little behind the owner's does not refuse a device enrolled a moment ago.
 */
export const CERTIFICATE_BACKDATE_SECONDS = 300

/** Devices per registration or revocation transaction (FleetRegistry.MAX_BATCH is 1000). */
export const DEFAULT_BATCH_SIZE = 100

/** Name of a fleet created without one. */
export const DEFAULT_FLEET_NAME = 'fleet'
