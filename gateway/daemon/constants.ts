// Defaults, caps and file names of the gateway daemon (`cw gateway start`).

/** gateway.json's format version. */
export const GATEWAY_CONFIG_VERSION = 1

/** Files and folders inside the data directory. */
export const API_FILE = 'api.json'
export const DB_DIR = 'db'
export const PUBLISHED_DIR = 'published'
export const JOURNAL_DIR = 'settlement-journal'
/** The sublevel of the daemon's database that keeps each model's validation accuracy. */
export const SCORES_SUBLEVEL = 'daemon-scores'

/** Defaults of gateway.json. */
export const DEFAULT_DATA_DIR = 'gateway-data'
export const DEFAULT_FLEET_FILE = 'fleet.json'
export const DEFAULT_KEY_LABEL = 'gateway'
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0'] as const
export const DEFAULT_API_HOST = '127.0.0.1'
export const DEFAULT_REWARD_TOTAL = '1000000'
export const DEFAULT_EVALUATION_MARGIN = 0.02
/** While a round collects, its announcement is published again this often, for agents that joined late (0: never). */
export const DEFAULT_REANNOUNCE_SECONDS = 10

/**
 * Verification limits (gateway/verify) unless gateway.json sets them. `maxSamples` is what an
 * agent's dataset holds by default (edge-agent DATASET_MAX_SAMPLES); a certificate's
 * `max-samples:<n>` bounds a device further.
 */
export const DEFAULT_VERIFICATION = {
  maxNorm: 1000,
  minSamples: 1,
  maxSamples: 100_000,
  maxAgeSeconds: 3600,
  maxSkewSeconds: 60,
} as const

/** The HTTP API is for the operator's machine only: these are the hosts it may bind. */
export const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'] as const
/** Largest request body the API reads; POST /rounds takes none. */
export const API_MAX_BODY_BYTES = 4 * 1024
/** A request must arrive whole within this time. */
export const API_REQUEST_TIMEOUT_MS = 10_000
/** Time a CLI call waits for the API. */
export const API_CLIENT_TIMEOUT_MS = 30_000

/** How often the daemon checks whether a collecting round is due (quorum or deadline). */
export const ROUND_TICK_MS = 500
/** Back-off before retrying a round that failed to aggregate or settle (chain outage, …). */
export const ROUND_RETRY_MIN_MS = 2_000
export const ROUND_RETRY_MAX_MS = 60_000

/** Largest validation CSV read, and most rows kept. */
export const VALIDATION_MAX_BYTES = 64 * 1024 * 1024
export const VALIDATION_MAX_ROWS = 1_000_000
/** Rows per inference run when evaluating. */
export const EVALUATION_BATCH = 512

/**
 * Genesis (round 0): the RoundLedger refuses zero roots and record hashes, so the initial
 * model's settlement carries these fixed, documented placeholders (docs/gateway-daemon.md).
 * No contribution leaf hashes to the root, so nothing can ever be claimed for round 0.
 */
export const GENESIS_ROUND = 0n
export const GENESIS_CONTRIBUTIONS_LABEL = 'counterweight/genesis/contributions/v1'
export const GENESIS_RECORD_KIND = 'counterweight-genesis'

/** Time the daemon gives its parts to stop before the CLI exits anyway. */
export const STOP_GRACE_MS = 10_000
