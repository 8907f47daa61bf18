/** The lifecycle of a round, in order. Every transition is one atomic level batch. */
export const ROUND_STATES = ['open', 'collecting', 'aggregating', 'settling', 'done'] as const
export type RoundState = (typeof ROUND_STATES)[number]

export const NEXT_STATE: Readonly<Record<RoundState, RoundState | undefined>> = {
  open: 'collecting',
  collecting: 'aggregating',
  aggregating: 'settling',
  settling: 'done',
  done: undefined,
}

/** Defaults of a round's configuration. */
export const DEFAULT_ROUND_SECONDS = 300
/** Accepted updates a round needs to aggregate; by default a round waits for every selected device until its deadline (no quorum). */
export const DEFAULT_MIN_UPDATES = 1
export const DEFAULT_SELECTION = { fraction: 1, min: 1, max: 10_000 } as const
/** Width of a round number in store keys, so that keys sort in round order (2^64 has 20 digits). */
export const ROUND_KEY_DIGITS = 20

/** Samples per engine run when scoring a model on the validation set (at most the engine's MAX_BATCH). */
export const VALIDATION_BATCH = 256
/** Labels of a validation set are class indices below this. */
export const MAX_VALIDATION_CLASSES = 65_536
/** Caps of a validation CSV, checked while reading: bytes (after gunzip), data rows, and header line bytes. */
export const MAX_VALIDATION_CSV_BYTES = 512 * 1024 * 1024
export const MAX_VALIDATION_ROWS = 1_000_000
export const MAX_VALIDATION_HEADER_BYTES = 1024 * 1024

/** The δ at which a DP round states each device's ε when its configuration names none. */
export const DEFAULT_PRIVACY_DELTA = 1e-5
