// Byte formats between a PKCS#11 token and Ethereum: the EC point a token stores for a public key,
// and the ECDSA signature it returns, turned into a 65-byte low-S signature with a recovery id.
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, type Address, type Hex } from 'viem'
import { SignatureFormatError, SignerMismatchError } from '../../../protocols/errors.js'
import { verifyDigest } from '../../../protocols/crypto/recover.js'
import { toEthereumSignature } from '../../../protocols/crypto/signature.js'
import { KeyFormatError } from '../../errors.js'

const UNCOMPRESSED_POINT_BYTES = 65
const COMPRESSED_POINT_BYTES = 33
/** ASN.1 OCTET STRING tag (X.690 §8.7). */
const DER_OCTET_STRING = 0x04

/**
 * The uncompressed public key from a CKA_EC_POINT value. PKCS#11 v2.40 §2.3.3 says it is the DER
 * encoding of an ANSI X9.62 ECPoint (an OCTET STRING around the point); some tokens hand back the
 * bare point, so both are accepted. The point must lie on secp256k1.
 */
export function decodeEcPoint(value: Uint8Array): Hex {
  let point = value
  const wrapped =
    value.length >= 2 &&
    value[0] === DER_OCTET_STRING &&
    value[1] === value.length - 2 &&
    (value.length - 2 === UNCOMPRESSED_POINT_BYTES || value.length - 2 === COMPRESSED_POINT_BYTES)
  if (wrapped) point = value.subarray(2)
  if (point.length !== UNCOMPRESSED_POINT_BYTES && point.length !== COMPRESSED_POINT_BYTES)
    throw new KeyFormatError('CKA_EC_POINT', `expected a 33- or 65-byte point, got ${point.length} bytes`)
  try {
    return bytesToHex(secp256k1.Point.fromBytes(point).toBytes(false))
  } catch (cause) {
    throw new KeyFormatError('CKA_EC_POINT', 'not a point on secp256k1', { cause })
  }
}

/**
 * A token's CKM_ECDSA output (r || s, PKCS#11 v2.40 §2.3.1; a few tokens return DER instead) as
 * an Ethereum signature: s moved to the low half (EIP-2) and the recovery id found by trying both
 * against the known address (SEC 1 v2 §4.1.6). The result is verified before it is returned.
 */
export function toRecoverableSignature(raw: Uint8Array, digest: Hex, address: Address): Hex {
  let r: bigint
  let s: bigint
  try {
    const parsed = secp256k1.Signature.fromBytes(raw, raw.length === 64 ? 'compact' : 'der')
    r = parsed.r
    s = parsed.s
  } catch (cause) {
    throw new SignatureFormatError(`the token returned ${raw.length} bytes that are not an ECDSA signature`, { cause })
  }
  for (const recovery of [0, 1]) {
    const signature = toEthereumSignature(r, s, recovery)
    if (verifyDigest(digest, signature, address)) return signature
  }
  throw new SignerMismatchError(address, 'a different key under either recovery id')
}
