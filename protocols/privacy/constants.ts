// Constants of the privacy layer: RDP orders, announced-parameter caps, the fixed-point unit.

/**
 * The Rényi orders the accountant evaluates, as TensorFlow Privacy's compute_dp_sgd_privacy uses
 * them: fine steps near 1 (where small ε live), every integer to 63, then a few large orders.
 */
export const RDP_ORDERS: readonly number[] = Object.freeze([
  1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5,
  ...Array.from({ length: 59 }, (_, i) => i + 5),
  128, 256, 512,
])

/** Terms of the fractional-order series before it is declared divergent (Mironov et al. 2019, §3.3). */
export const MAX_FRACTIONAL_TERMS = 1000

/** Orders at or below this one skip the improved conversion, which is unstable as α → 1. */
export const MIN_CONVERSION_ORDER = 1.01

/** Bounds on announced and configured DP parameters. */
export const MAX_NOISE_MULTIPLIER = 1000
export const MAX_CLIP_NORM = 1e6
export const MIN_DELTA = 1e-30
/** δ must stay well below 1/n for any meaningful guarantee; 0.1 is the loosest accepted. */
export const MAX_DELTA = 0.1
export const MAX_EPSILON = 1000
/** Canonical JSON of RoundAnnouncement.privacy. */
export const MAX_ROUND_PRIVACY_LENGTH = 256
/** Groups of distinct (sampleRate, noiseMultiplier) in one device's privacy ledger. */
export const MAX_LEDGER_ENTRIES = 256
/** Rounds counted in one ledger entry. */
export const MAX_LEDGER_ROUNDS = 1_000_000

/** Privacy mechanisms a round may announce. */
export const PRIVACY_MODES = ['device', 'central'] as const
export type PrivacyMode = (typeof PRIVACY_MODES)[number]
