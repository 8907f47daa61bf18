// Bounds of the device's local data set.

const MiB = 1024 * 1024

/** Default caps of the ring buffer: the oldest samples go first when either is passed. */
export const DATASET_MAX_SAMPLES = 100_000
export const DATASET_MAX_BYTES = 64 * MiB
/** Hard caps a configuration may not exceed. */
export const DATASET_MAX_SAMPLES_LIMIT = 10_000_000
export const DATASET_MAX_BYTES_LIMIT = 4096 * MiB
/** Values per sample (e.g. 64 channels × 1024 readings). */
export const MAX_SAMPLE_FEATURES = 65_536
/** UTF-8 bytes of a label. */
export const MAX_LABEL_BYTES = 64
/** Samples one add() may write in its atomic batch. */
export const MAX_ADD_BATCH = 4096
/** Version byte of the stored sample encoding. */
export const SAMPLE_FORMAT_VERSION = 1
