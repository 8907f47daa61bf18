// Public-key recovery from a digest and an Ethereum signature, with interchangeable backends.
// bench/protocols.ts measures them; the fastest one that loads here is the default verifier.
import { createRequire } from 'node:module'
import * as nobleSecp from '@noble/secp256k1'
import { secp256k1 as nobleCurves } from '@noble/curves/secp256k1.js'
import * as tinySecp from 'tiny-secp256k1'
import { bytesToHex, hexToBytes, isAddressEqual, type Address, type Hex } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { InvalidArgumentError } from '../errors.js'
import { isCanonical, parseSignature } from './signature.js'

/** One secp256k1 implementation, as the gateway's verifier sees it. */
export interface RecoveryBackend {
  readonly name: string
  /** Uncompressed public key (65 bytes, 0x04 prefix) or null when the signature recovers nothing. */
  recover(digest: Uint8Array, compact: Uint8Array, recovery: number): Uint8Array | null
}

const orNull = <T>(f: () => T): T | null => {
  try {
    return f()
  } catch {
    // Each library signals "no such point" by throwing; to a verifier that is just "no key".
    return null
  }
}

const withRecovery = (compact: Uint8Array, recovery: number): Uint8Array => {
  const out = new Uint8Array(65)
  out[0] = recovery
  out.set(compact, 1)
  return out
}

export const nobleSecp256k1Backend: RecoveryBackend = {
  name: '@noble/secp256k1',
  recover: (digest, compact, recovery) =>
    orNull(() =>
      nobleSecp.recoverPublicKey(withRecovery(compact, recovery), digest, { prehash: false, isCompressed: false }),
    ),
}

export const nobleCurvesBackend: RecoveryBackend = {
  name: '@noble/curves',
  recover: (digest, compact, recovery) =>
    orNull(() =>
      nobleCurves.Signature.fromBytes(compact, 'compact')
        .addRecoveryBit(recovery)
        .recoverPublicKey(digest)
        .toBytes(false),
    ),
}

interface NativeSecp256k1 {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array
}

const require = createRequire(import.meta.url)

/** libsecp256k1 through the `secp256k1` package's prebuilt native addon; undefined where it does not load. */
export const nativeBackend: RecoveryBackend | undefined = (() => {
  // `secp256k1/bindings` is the native addon alone; the package root silently falls back to
  // elliptic, a slow pure-JS curve, which must never be mistaken for the native one.
  const native = orNull(() => require('secp256k1/bindings') as NativeSecp256k1)
  if (native === null) return undefined
  return {
    name: 'secp256k1 (libsecp256k1, native)',
    recover: (digest, compact, recovery) => orNull(() => native.ecdsaRecover(compact, recovery, digest, false)),
  }
})()

/** libsecp256k1 compiled to WebAssembly (tiny-secp256k1): loads everywhere Node runs. */
export const wasmBackend: RecoveryBackend = {
  name: 'tiny-secp256k1 (libsecp256k1, WebAssembly)',
  recover: (digest, compact, recovery) => orNull(() => tinySecp.recover(digest, compact, recovery === 1 ? 1 : 0, false)),
}

/**
 * Backends in order of preference, from bench/protocols.ts: the native addon recovers ~27x
 * faster than @noble/secp256k1, WebAssembly ~10x, @noble/curves ~1.6x.
 */
export const recoveryBackends: readonly RecoveryBackend[] = [
  ...(nativeBackend === undefined ? [] : [nativeBackend]),
  wasmBackend,
  nobleCurvesBackend,
  nobleSecp256k1Backend,
]

export const defaultRecoveryBackend: RecoveryBackend = recoveryBackends[0] ?? nobleCurvesBackend

const DIGEST_LENGTH = 32

const digestBytes = (digest: Hex | Uint8Array): Uint8Array => {
  const bytes = typeof digest === 'string' ? hexToBytes(digest) : digest
  if (bytes.length !== DIGEST_LENGTH) throw new InvalidArgumentError('digest', `expected ${DIGEST_LENGTH} bytes, got ${bytes.length}`)
  return bytes
}

/**
 * The address that signed `digest`, or null for a signature that is not canonical (high S,
 * bad v) or recovers no key. Throws only for malformed arguments.
 */
export function recoverSigner(
  digest: Hex | Uint8Array,
  signature: Hex | Uint8Array,
  backend: RecoveryBackend = defaultRecoveryBackend,
): Address | null {
  const parts = parseSignature(signature)
  const hash = digestBytes(digest)
  if (!isCanonical(parts)) return null
  const publicKey = backend.recover(hash, parts.compact, parts.recovery)
  return publicKey === null ? null : publicKeyToAddress(bytesToHex(publicKey))
}

/** True when `signature` over `digest` is canonical and was made by `address`. */
export function verifyDigest(
  digest: Hex | Uint8Array,
  signature: Hex | Uint8Array,
  address: Address,
  backend: RecoveryBackend = defaultRecoveryBackend,
): boolean {
  const recovered = recoverSigner(digest, signature, backend)
  return recovered !== null && isAddressEqual(recovered, address)
}
