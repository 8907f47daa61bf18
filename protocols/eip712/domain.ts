import { z } from 'zod'
import type { Address } from 'viem'
import { EIP712_DOMAIN_NAME, EIP712_DOMAIN_VERSION } from '../constants.js'
import { InvalidArgumentError } from '../errors.js'
import { addressSchema, fieldOf } from './schemas.js'

/** The EIP-712 domain of one fleet: its registry contract is the verifying contract. */
export interface FleetDomain {
  name: typeof EIP712_DOMAIN_NAME
  version: typeof EIP712_DOMAIN_VERSION
  chainId: number
  verifyingContract: Address
}

const domainSchema = z.strictObject({
  name: z.literal(EIP712_DOMAIN_NAME),
  version: z.literal(EIP712_DOMAIN_VERSION),
  chainId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  verifyingContract: addressSchema,
})

export interface FleetDomainParameters {
  chainId: number
  verifyingContract: Address
}

export function fleetDomain(parameters: FleetDomainParameters): FleetDomain {
  return parseDomain({ name: EIP712_DOMAIN_NAME, version: EIP712_DOMAIN_VERSION, ...parameters })
}

/** Validates a domain given by a caller or read from a config file. */
export function parseDomain(value: unknown): FleetDomain {
  const result = domainSchema.safeParse(value)
  if (!result.success) {
    const { field, problem } = fieldOf(result.error, 'domain')
    throw new InvalidArgumentError(field, problem)
  }
  return result.data
}
