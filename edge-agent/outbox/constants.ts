// The outbox's bounds and retry schedule.

const MiB = 1024 * 1024

/**
 * Bytes of signed submissions the outbox holds (pending and dead-lettered together). When full,
 * new entries are refused with OutboxFullError; nothing signed is ever dropped to make room.
 */
export const OUTBOX_MAX_BYTES = 256 * MiB
/** First retry delay, doubled per failed attempt up to OUTBOX_BACKOFF_MAX_MS, then jittered. */
export const OUTBOX_BACKOFF_BASE_MS = 1_000
export const OUTBOX_BACKOFF_MAX_MS = 5 * 60_000
/** Deliveries in flight at once. */
export const OUTBOX_CONCURRENCY = 2
