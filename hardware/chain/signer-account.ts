// A viem local account whose key is a protocols `Signer`: an in-memory key, a key file or a
// PKCS#11 secure element (hardware/keys). viem serialises and hashes; the Signer signs the digest.
import {
  hashMessage,
  hashTypedData,
  isAddressEqual,
  keccak256,
  serializeTransaction,
  type Hex,
  type LocalAccount,
  type SerializeTransactionFn,
  type TransactionSerializable,
  type TypedDataDefinition,
} from 'viem'
import { toAccount } from 'viem/accounts'
import { parseSignature, recoverSigner, SignerMismatchError, type Signer } from '../../protocols/index.js'

/** r, s and yParity of a Signer's 65-byte r || s || v signature (v = 27 + recovery id). */
function splitSignature(signature: Hex): { r: Hex; s: Hex; v: bigint; yParity: number } {
  const parts = parseSignature(signature)
  const hex32 = (n: bigint): Hex => `0x${n.toString(16).padStart(64, '0')}`
  // `v` is what legacy transactions start from (viem adds EIP-155's chain id); typed ones use yParity.
  return { r: hex32(parts.r), s: hex32(parts.s), v: 27n + BigInt(parts.recovery), yParity: parts.recovery }
}

export interface SignerToAccountParameters {
  signer: Signer
  signal?: AbortSignal
}

/** A viem `LocalAccount` that signs transactions, messages and typed data with `signer`. */
export function signerToAccount({ signer, signal }: SignerToAccountParameters): LocalAccount {
  // A signature that is malformed or recovers to another key never leaves this account.
  const sign = async (digest: Hex): Promise<Hex> => {
    const signature = await signer.signDigest(digest, signal === undefined ? {} : { signal })
    parseSignature(signature)
    const recovered = recoverSigner(digest, signature)
    if (recovered === null || !isAddressEqual(recovered, signer.address)) throw new SignerMismatchError(signer.address, recovered ?? 'nothing')
    return signature
  }
  return toAccount({
    address: signer.address,
    async signMessage({ message }) {
      return sign(hashMessage(message))
    },
    async signTransaction(transaction, options) {
      const serializer: SerializeTransactionFn<TransactionSerializable> = options?.serializer ?? serializeTransaction
      const digest = keccak256(await serializer(transaction))
      return serializer(transaction, splitSignature(await sign(digest)))
    },
    async signTypedData(definition) {
      return sign(hashTypedData(definition as TypedDataDefinition))
    },
  })
}
