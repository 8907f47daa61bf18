/** Defaults of the server optimisers (Reddi et al., "Adaptive Federated Optimization", ICLR 2021, §3 and Table 6). */
export const DEFAULT_SERVER_LR = 0.01
export const DEFAULT_BETA1 = 0.9
export const DEFAULT_BETA2 = 0.99
export const DEFAULT_TAU = 1e-3
/** Fraction trimmed from each end, per coordinate, by the trimmed mean. */
export const DEFAULT_TRIM = 0.1
/** Most updates a strategy that holds them all (median, trimmed mean, Krum) accepts in one round. */
export const MAX_HELD_UPDATES = 10_000
/**
 * Float32 values the weighted sum copies into the WebAssembly kernel's memory at a time: 16 KiB of
 * input and 32 KiB of float64 sums stay in a core's first-level cache while they are summed.
 */
export const WEIGHTED_SUM_CHUNK = 4096
