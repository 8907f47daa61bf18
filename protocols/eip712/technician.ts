// The field technician's credentials (EIP-712, same fleet domain as the other structs):
//   - TechnicianGrant: signed by the fleet owner; who, which devices ('*' for all), which console
//     command groups, and when;
//   - ConsoleLogin: the technician's answer to one console challenge, binding the device's nonce to
//     a grant (by its EIP-712 digest).
// They live apart from EIP712_TYPES because they never travel over the mesh's wire codec.
import { z } from 'zod'
import { hashTypedData, isAddressEqual, keccak256, type Address, type Hex } from 'viem'
import { MAX_CAPABILITIES, MAX_LABEL_LENGTH } from '../constants.js'
import type { Signer } from '../crypto/signer.js'
import { recoverSigner } from '../crypto/recover.js'
import { parseSignature } from '../crypto/signature.js'
import { InvalidArgumentError, SignerMismatchError } from '../errors.js'
import { parseDomain, type FleetDomain } from './domain.js'
import { addressSchema, bytes32Schema, fieldOf, uint64Schema } from './schemas.js'

export const TECHNICIAN_TYPES = {
  TechnicianGrant: [
    { name: 'technician', type: 'address' },
    { name: 'fleet', type: 'bytes32' },
    { name: 'devices', type: 'string[]' },
    { name: 'commands', type: 'string[]' },
    { name: 'validFrom', type: 'uint64' },
    { name: 'validUntil', type: 'uint64' },
  ],
  ConsoleLogin: [
    { name: 'technician', type: 'address' },
    { name: 'device', type: 'address' },
    { name: 'challenge', type: 'bytes32' },
    { name: 'grant', type: 'bytes32' },
  ],
} as const

export const technicianGrantSchema = z.strictObject({
  technician: addressSchema,
  fleet: bytes32Schema,
  devices: z.array(z.union([z.literal('*'), addressSchema])).min(1).max(MAX_CAPABILITIES),
  commands: z.array(z.string().min(1).max(MAX_LABEL_LENGTH)).min(1).max(MAX_CAPABILITIES),
  validFrom: uint64Schema,
  validUntil: uint64Schema,
})

export const consoleLoginSchema = z.strictObject({
  technician: addressSchema,
  device: addressSchema,
  challenge: bytes32Schema,
  grant: bytes32Schema,
})

export type TechnicianGrant = z.infer<typeof technicianGrantSchema>
export type ConsoleLogin = z.infer<typeof consoleLoginSchema>
type Kind = keyof typeof TECHNICIAN_TYPES
const SCHEMAS = { TechnicianGrant: technicianGrantSchema, ConsoleLogin: consoleLoginSchema } as const
type MessageOf<K extends Kind> = z.infer<(typeof SCHEMAS)[K]>

function parse<K extends Kind>(kind: K, value: unknown, prefix: string): MessageOf<K> {
  const result = SCHEMAS[kind].safeParse(value)
  if (!result.success) {
    const { field, problem } = fieldOf(result.error, prefix)
    throw new InvalidArgumentError(field, problem, { details: { kind } })
  }
  return result.data as MessageOf<K>
}

export const parseTechnicianGrant = (value: unknown, prefix = 'grant'): TechnicianGrant => parse('TechnicianGrant', value, prefix)
export const parseConsoleLogin = (value: unknown, prefix = 'login'): ConsoleLogin => parse('ConsoleLogin', value, prefix)

function digestOf<K extends Kind>(kind: K, domain: FleetDomain, message: MessageOf<K>): Hex {
  const definition = {
    domain: parseDomain(domain),
    types: { [kind]: TECHNICIAN_TYPES[kind] },
    primaryType: kind,
    message: parse(kind, message, 'message'),
  } as unknown as Parameters<typeof hashTypedData>[0] // the struct is chosen at run time; parse checked it
  return hashTypedData(definition)
}

/** The EIP-712 digest of a grant: what the owner signs, and the grant's id in a ConsoleLogin. */
export const hashTechnicianGrant = (domain: FleetDomain, grant: TechnicianGrant): Hex => digestOf('TechnicianGrant', domain, grant)
export const hashConsoleLogin = (domain: FleetDomain, login: ConsoleLogin): Hex => digestOf('ConsoleLogin', domain, login)

export interface SignedTechnicianGrant {
  grant: TechnicianGrant
  signature: Hex
}

/** The fleet owner signs a grant. */
export async function signTechnicianGrant(domain: FleetDomain, grant: TechnicianGrant, owner: Signer): Promise<SignedTechnicianGrant> {
  return { grant, signature: await owner.signDigest(hashTechnicianGrant(domain, grant)) }
}

/** The technician answers a challenge; the signer must be the grant's technician. */
export async function signConsoleLogin(domain: FleetDomain, login: ConsoleLogin, technician: Signer): Promise<Hex> {
  if (!isAddressEqual(login.technician, technician.address)) throw new SignerMismatchError(login.technician, technician.address)
  return technician.signDigest(hashConsoleLogin(domain, login))
}

const recovers = (digest: Hex, signature: Hex, expected: Address): boolean => {
  parseSignature(signature)
  const recovered = recoverSigner(digest, signature)
  return recovered !== null && isAddressEqual(recovered, expected)
}

/** True when the owner signed the grant (false for a wrong or forged signature). */
export const verifyTechnicianGrant = (domain: FleetDomain, signed: SignedTechnicianGrant, owner: Address): boolean =>
  recovers(hashTechnicianGrant(domain, signed.grant), signed.signature, owner)

/** True when the login's technician signed it. */
export const verifyConsoleLogin = (domain: FleetDomain, login: ConsoleLogin, signature: Hex): boolean =>
  recovers(hashConsoleLogin(domain, login), signature, login.technician)

/** Hex characters of a one-time code (40 bits). */
export const ONE_TIME_CODE_LENGTH = 10

/** A short code of a login signature, the first hex digits of its keccak-256, to read back over the line. */
export function oneTimeCode(signature: Hex): string {
  parseSignature(signature)
  return keccak256(signature).slice(2, 2 + ONE_TIME_CODE_LENGTH).toUpperCase()
}
