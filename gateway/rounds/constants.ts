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
export const DEFAULT_QUORUM = 1
export const DEFAULT_SELECTION = { fraction: 1, min: 1, max: 10_000 } as const
/** Width of a round number in store keys, so that keys sort in round order (2^64 has 20 digits). */
export const ROUND_KEY_DIGITS = 20
