// Hashing, signing and verifying the EIP-712 structs. Hashing is viem's `hashTypedData`.
import { hashTypedData, isAddress, isAddressEqual, type Address, type Hex } from 'viem'
import type { Signer, SignDigestOptions } from '../crypto/signer.js'
import { recoverSigner, type RecoveryBackend } from '../crypto/recover.js'
import { parseSignature } from '../crypto/signature.js'
import { InvalidArgumentError, SignerMismatchError } from '../errors.js'
import { parseDomain, type FleetDomain } from './domain.js'
import { parseMessage, type MessageOf, type Signed } from './schemas.js'
import { EIP712_TYPES, SIGNER_FIELD, type MessageKind } from './types.js'

/** The EIP-712 digest of a message: what is signed, and the message's id (e.g. attestationHash). */
export function hashMessage<K extends MessageKind>(kind: K, domain: FleetDomain, message: MessageOf<K>): Hex {
  const checked = parseMessage(kind, message)
  // The struct is chosen at run time, so viem cannot infer the message type from `kind`;
  // parseMessage has already checked the message against that struct.
  const definition = {
    domain: parseDomain(domain),
    types: { [kind]: EIP712_TYPES[kind] },
    primaryType: kind,
    message: checked,
  } as unknown as Parameters<typeof hashTypedData>[0]
  return hashTypedData(definition)
}

/** The address a message names as its signer, or undefined for a certificate (signed by the owner). */
export function signerField<K extends MessageKind>(kind: K, message: MessageOf<K>): Address | undefined {
  const field = SIGNER_FIELD[kind]
  return field === undefined ? undefined : ((message as Record<string, unknown>)[field] as Address)
}

export interface SignMessageParameters<K extends MessageKind> extends SignDigestOptions {
  domain: FleetDomain
  message: MessageOf<K>
  signer: Signer
}

/** Signs a message; the signer must be the one the message names (device for an attestation…). */
export async function signMessage<K extends MessageKind>(
  kind: K,
  { domain, message, signer, signal }: SignMessageParameters<K>,
): Promise<Signed<K>> {
  const named = signerField(kind, message)
  if (named !== undefined && !isAddressEqual(named, signer.address))
    throw new SignerMismatchError(named, signer.address)
  const digest = hashMessage(kind, domain, message)
  const signature = await signer.signDigest(digest, signal === undefined ? {} : { signal })
  return { message, signature }
}

export interface VerifyMessageParameters<K extends MessageKind> {
  domain: FleetDomain
  message: MessageOf<K>
  signature: Hex | Uint8Array
  /** Required for a DeviceCertificate (the fleet owner); for others it must equal the named signer. */
  signer?: Address
  backend?: RecoveryBackend
}

/**
 * True when `signature` is a canonical (low-S) signature over the message by its signer. A
 * wrong, forged or high-S signature gives false; malformed arguments throw a typed error.
 */
export function verifyMessage<K extends MessageKind>(
  kind: K,
  { domain, message, signature, signer, backend }: VerifyMessageParameters<K>,
): boolean {
  parseSignature(signature) // malformed signatures throw before any hashing
  if (signer !== undefined && !isAddress(signer, { strict: false }))
    throw new InvalidArgumentError('signer', 'expected a 20-byte 0x-prefixed hex address')
  const named = signerField(kind, message)
  const expected = named ?? signer
  if (expected === undefined) throw new InvalidArgumentError('signer', `a ${kind} is verified against a given signer`)
  if (signer !== undefined && named !== undefined && !isAddressEqual(signer, named)) return false
  const digest = hashMessage(kind, domain, message)
  const recovered = recoverSigner(digest, signature, backend)
  return recovered !== null && isAddressEqual(recovered, expected)
}

// One pair per struct, for call sites that name what they sign.
type SignOne<K extends MessageKind> = (parameters: SignMessageParameters<K>) => Promise<Signed<K>>
type VerifyOne<K extends MessageKind> = (parameters: VerifyMessageParameters<K>) => boolean
const signerFor = <K extends MessageKind>(kind: K): SignOne<K> => (parameters) => signMessage(kind, parameters)
const verifierFor = <K extends MessageKind>(kind: K): VerifyOne<K> => (parameters) => verifyMessage(kind, parameters)

export const signDeviceCertificate = signerFor('DeviceCertificate')
export const verifyDeviceCertificate = verifierFor('DeviceCertificate')
export const signRoundAnnouncement = signerFor('RoundAnnouncement')
export const verifyRoundAnnouncement = verifierFor('RoundAnnouncement')
export const signUpdateAttestation = signerFor('UpdateAttestation')
export const verifyUpdateAttestation = verifierFor('UpdateAttestation')
export const signInferenceAttestation = signerFor('InferenceAttestation')
export const verifyInferenceAttestation = verifierFor('InferenceAttestation')
export const signReceipt = signerFor('Receipt')
export const verifyReceipt = verifierFor('Receipt')
