// Constants of secure aggregation (protocols/secagg): the Shamir field, the fixed-point ring,
// domain-separation labels and caps.

/** Shamir shares live in GF(2^521 − 1), a Mersenne prime above every 32-byte secret. */
export const SHAMIR_PRIME = 2n ** 521n - 1n
/** Bytes of a share's y value (ceil(521 / 8)). */
export const SHARE_BYTES = 66
/** Bytes of each secret shared: an X25519 secret key or a self-mask seed. */
export const SECRET_BYTES = 32
/** Masking is in Z/2^32: sums wrap, the same on every machine. */
export const RING_BITS = 32
/** Most devices in one secure-aggregation round, and most neighbours each. */
export const MAX_SECAGG_DEVICES = 10_000
export const MAX_SECAGG_NEIGHBOURS = 256
/** Most coordinates of one masked update (the update cap's float32 count). */
export const MAX_SECAGG_LENGTH = 8 * 1024 * 1024
/** Domain labels of the key derivations (hashed with the round and the fleet). */
export const LABEL_PAIR = 'counterweight/secagg/pair-mask/1'
export const LABEL_SELF = 'counterweight/secagg/self-mask/1'
export const LABEL_ENCRYPT = 'counterweight/secagg/share-key/1'
export const LABEL_COMMIT = 'counterweight/secagg/share-commitment/1'
