// A Signer whose private key is a value in memory, backed by @noble/secp256k1: for tests, the
// demo and tools. Devices use hardware/keys instead.
import * as secp from '@noble/secp256k1'
import { bytesToHex, hexToBytes, isAddressEqual, isHex, type Address, type Hex } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { InvalidArgumentError, SignerMismatchError } from '../errors.js'
import { recoverSigner } from './recover.js'
import { toEthereumSignature } from './signature.js'
import type { SignDigestOptions, Signer } from './signer.js'

export interface CreateMemorySignerParameters {
  /** 32-byte private key; a fresh random one when absent. */
  privateKey?: Hex
}

export type CreateMemorySignerReturnType = Signer & {
  /** The uncompressed public key, 0x04-prefixed. */
  readonly publicKey: Hex
}

const DIGEST_HEX_LENGTH = 2 + 64

export function createMemorySigner(parameters: CreateMemorySignerParameters = {}): CreateMemorySignerReturnType {
  const { privateKey } = parameters
  if (privateKey !== undefined && (!isHex(privateKey, { strict: true }) || privateKey.length !== DIGEST_HEX_LENGTH))
    throw new InvalidArgumentError('privateKey', 'expected 32 bytes of 0x-prefixed hex')
  const secret = privateKey === undefined ? secp.utils.randomSecretKey() : hexToBytes(privateKey)
  if (!secp.utils.isValidSecretKey(secret)) throw new InvalidArgumentError('privateKey', 'not a valid secp256k1 scalar')
  const publicKey = bytesToHex(secp.getPublicKey(secret, false))
  const address: Address = publicKeyToAddress(publicKey)

  return {
    address,
    publicKey,
    keyStorage: 'memory',
    async signDigest(digest: Hex, options: SignDigestOptions = {}): Promise<Hex> {
      options.signal?.throwIfAborted()
      if (!isHex(digest, { strict: true }) || digest.length !== DIGEST_HEX_LENGTH)
        throw new InvalidArgumentError('digest', 'expected 32 bytes of 0x-prefixed hex')
      // Recovered format is recovery-byte || r || s (noble-secp256k1 README, "sign").
      const raw = await secp.signAsync(hexToBytes(digest), secret, { prehash: false, format: 'recovered' })
      const r = BigInt(bytesToHex(raw.subarray(1, 33)))
      const s = BigInt(bytesToHex(raw.subarray(33, 65)))
      const signature = toEthereumSignature(r, s, raw[0] ?? 0)
      // Re-verify what we produced before anyone else relies on it.
      const recovered = recoverSigner(digest, signature)
      if (recovered === null || !isAddressEqual(recovered, address))
        throw new SignerMismatchError(address, recovered ?? 'nothing')
      return signature
    },
  }
}
