import type { Address, Hex } from 'viem'

export interface SignDigestOptions {
  signal?: AbortSignal
}

/**
 * Something that holds one secp256k1 key and signs 32-byte digests with it: an in-memory key
 * here, a key file or a secure element in hardware/keys.
 */
export interface Signer {
  /** The Ethereum address of the key: the identity of a device, gateway or owner. */
  readonly address: Address
  /** Where the key lives, as recorded in a DeviceCertificate (`memory`, `file`, `pkcs11`). */
  readonly keyStorage: string
  /** A 65-byte signature r || s || v over `digest`, low-S, v = 27 + recovery id. */
  signDigest(digest: Hex, options?: SignDigestOptions): Promise<Hex>
}
