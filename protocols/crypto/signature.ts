// Ethereum-style secp256k1 signatures: 65 bytes r || s || v, v = 27 + recovery id (Yellow Paper
// Appendix F), s in the lower half of the group order (EIP-2).
import type { Hex } from 'viem'
import { bytesToHex, hexToBytes, isHex } from 'viem/utils'
import { SignatureFormatError } from '../errors.js'

/** secp256k1 group order n (SEC 2 v2, §2.4.1). */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
export const SECP256K1_HALF_N = SECP256K1_N >> 1n

export const SIGNATURE_LENGTH = 65

export interface SignatureParts {
  r: bigint
  s: bigint
  /** 0 or 1 for a well-formed Ethereum signature; anything else makes the signature invalid. */
  recovery: number
  /** r || s, 64 bytes. */
  compact: Uint8Array
}

const bigintFromBytes = (bytes: Uint8Array): bigint => BigInt(bytesToHex(bytes))

/**
 * Splits a 65-byte signature. Throws SignatureFormatError only when it is not 65 bytes; a wrong
 * v, zero r or high s is a *wrong* signature, which `isCanonical` reports.
 */
export function parseSignature(signature: Hex | Uint8Array): SignatureParts {
  let bytes: Uint8Array
  if (typeof signature === 'string') {
    if (!isHex(signature, { strict: true })) throw new SignatureFormatError('not 0x-prefixed hex')
    if (signature.length !== 2 + 2 * SIGNATURE_LENGTH)
      throw new SignatureFormatError(`expected ${SIGNATURE_LENGTH} bytes, got ${(signature.length - 2) / 2}`)
    bytes = hexToBytes(signature)
  } else if (signature instanceof Uint8Array) {
    if (signature.length !== SIGNATURE_LENGTH)
      throw new SignatureFormatError(`expected ${SIGNATURE_LENGTH} bytes, got ${signature.length}`)
    bytes = signature
  } else {
    throw new SignatureFormatError('expected hex string or Uint8Array')
  }
  const compact = bytes.subarray(0, 64)
  return {
    r: bigintFromBytes(bytes.subarray(0, 32)),
    s: bigintFromBytes(bytes.subarray(32, 64)),
    recovery: (bytes[64] ?? 0) - 27,
    compact,
  }
}

/** True when r and s are in range, s is low (EIP-2) and v is 27 or 28. */
export function isCanonical(parts: SignatureParts): boolean {
  return (
    parts.r > 0n &&
    parts.r < SECP256K1_N &&
    parts.s > 0n &&
    parts.s <= SECP256K1_HALF_N &&
    (parts.recovery === 0 || parts.recovery === 1)
  )
}

/**
 * Moves a signature to low-S (s → n - s flips the recovery id, since it negates R's y-parity
 * in the recovered point; SEC 1 v2 §4.1.6) and serialises it as r || s || v.
 */
export function toEthereumSignature(r: bigint, s: bigint, recovery: number): Hex {
  if (r <= 0n || r >= SECP256K1_N) throw new SignatureFormatError('r out of range')
  if (s <= 0n || s >= SECP256K1_N) throw new SignatureFormatError('s out of range')
  if (recovery !== 0 && recovery !== 1) throw new SignatureFormatError(`recovery id ${recovery} is not 0 or 1`)
  let low = s
  let rec = recovery
  if (low > SECP256K1_HALF_N) {
    low = SECP256K1_N - low
    rec ^= 1
  }
  const hex32 = (n: bigint) => n.toString(16).padStart(64, '0')
  return `0x${hex32(r)}${hex32(low)}${(27 + rec).toString(16)}`
}
