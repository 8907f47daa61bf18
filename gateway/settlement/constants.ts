// Defaults and caps of the settlement client. The chain client's own (confirmations, polling,
// registration batches, the embedded EVM) live in hardware/chain/constants.ts and are re-exported.
export * from '../../hardware/chain/constants.js'

/** How long a settlement keeps trying, through RPC outages and while its transaction waits to be
 * mined, before it gives up with a typed error (run again, it picks up its journalled transaction). */
export const SETTLEMENT_TIMEOUT_MS = 120_000
/** Backoff between retries while the node is unreachable. */
export const RETRY_MIN_MS = 200
export const RETRY_MAX_MS = 5_000
