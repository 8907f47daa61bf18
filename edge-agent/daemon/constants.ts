// Defaults, caps and time-outs of the agent daemon (edge-agent/daemon). The `agent` section of
// device.json overrides the defaults (config.ts); the caps bound what a configuration may ask.

const MiB = 1024 * 1024

/** pino levels the agent's logLevel accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** Where the daemon keeps its state, relative to device.json's directory. */
export const DEFAULT_DATA_DIR = 'agent-data'
/** The libp2p listen address: loopback only, a free port. A board on a LAN lists its own. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0'] as const
export const DEFAULT_LABEL_CHANNEL = 'label'
export const DEFAULT_WINDOW_SIZE = 1
export const MAX_WINDOW_SIZE = 65_536

export const DEFAULT_TRAINING = {
  epochs: 1,
  batchSize: 32,
  learningRate: 0.05,
  /** Training samples (after the validation split) below which a round is skipped. */
  minSamples: 32,
  /** Intra-op threads of the training runtime: one, so that a board keeps a core for sensing. */
  threads: 1,
  /** Available memory below which a round is skipped. */
  minFreeMemoryBytes: 64 * MiB,
} as const
export const MAX_TRAINING_THREADS = 64
export const MAX_TRAINING_EPOCHS = 100

export const DEFAULT_DATASET_BYTES = 64 * MiB
export const DEFAULT_OUTBOX_BYTES = 64 * MiB
/** Signed inference events published per minute (0: none). */
export const DEFAULT_ATTESTATIONS_PER_MINUTE = 6
export const MAX_ATTESTATIONS_PER_MINUTE = 600
/** A new model scoring this much worse than the current one on the device's own validation split is refused. */
export const DEFAULT_ROLLBACK_MARGIN = 0.05
export const DEFAULT_VALIDATION_FRACTION = 0.2
/** status.json is rewritten this often even without a change (so readers see the agent is alive). */
export const DEFAULT_STATUS_INTERVAL_MS = 2_000
/** Changes within this long are written to status.json together. */
export const STATUS_DEBOUNCE_MS = 200

/** File names inside the data directory. */
export const STATUS_FILE = 'status.json'
export const STATE_FILE = 'state.json'
export const DATASET_DIR = 'dataset'
export const OUTBOX_DIR = 'outbox'
export const MODELS_DIR = 'models'

/** Round entries kept in the state and status files (oldest dropped first). */
export const MAX_ROUND_ENTRIES = 64
/** Models refused (not settled, or worse on this device) remembered at once. */
export const MAX_REFUSED_MODELS = 64
/** Models kept in the local cache besides the current one. */
export const MAX_CACHED_MODELS = 3
/** A model refused as not settled is asked about again after this long (settlement may lag its gossip). */
export const REFUSED_NOT_SETTLED_MS = 30_000
/** A settled model refused as worse on this device is evaluated again after this long. */
export const REFUSED_WORSE_MS = 10 * 60_000
/** A round skipped for a passing reason (too few samples, busy, low memory) is tried again on a re-announcement after this long. */
export const ROUND_RETRY_MS = 10_000

/** Samples buffered before one atomic add to the sample store, and the longest they wait. */
export const SAMPLE_FLUSH_COUNT = 64
export const SAMPLE_FLUSH_MS = 500
/** Readings a sensor's iterator buffers before dropping the oldest. */
export const SENSOR_QUEUE_CAPACITY = 1024
/** A sensor that fails to open is tried again after this long, doubling up to the maximum. */
export const SENSOR_RETRY_MS = 1_000
export const SENSOR_RETRY_MAX_MS = 30_000

/** Inference sequence numbers reserved per write of the state file, so that none repeats after a crash. */
export const SEQUENCE_BLOCK = 1_000

/** Outbox retry schedule of the agent: quicker than the outbox's own default, a board's uplink is local. */
export const OUTBOX_BACKOFF_BASE_MS = 500
export const OUTBOX_BACKOFF_MAX_MS = 30_000

/** The gateways configured in the bundle are dialled again this often while none is connected. */
export const GATEWAY_REDIAL_MS = 5_000
/** Time-outs of a model fetch and of one chain read. */
export const MODEL_FETCH_TIMEOUT_MS = 120_000
export const CHAIN_TIMEOUT_MS = 10_000
/** How long stop() waits for a step in flight (training is aborted between steps) before closing anyway. */
export const STOP_STEP_TIMEOUT_MS = 10_000

/** The δ at which `cw agent status` states ε spent when device.json has no privacy policy. */
export const DEFAULT_STATUS_PRIVACY_DELTA = 1e-5
/** Round numbers the privacy ledger remembers as counted. */
export const MAX_PRIVACY_ROUNDS_KEPT = 4096
/** The privacy ledger, in the data directory. */
export const PRIVACY_FILE = 'privacy.json'
