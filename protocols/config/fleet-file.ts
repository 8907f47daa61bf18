// `fleet.json`: what every party needs to know about a fleet — its id, chain, contracts, owner,
// gateways and EIP-712 domain. Written by `cw fleet init`, read by gateways, agents (inside
// their device bundle), `cw rewards` and `cw audit`. It holds no secret.
import type { Address, Hex } from 'viem'
import { getAddress } from 'viem/utils'
import { z } from 'zod'
import { EIP712_DOMAIN_NAME, EIP712_DOMAIN_VERSION } from '../constants.js'
import { addressSchema, bytes32Schema } from '../eip712/schemas.js'
import type { FleetDomain } from '../eip712/domain.js'
import { parseConfig } from './parse-config.js'

export const FLEET_FILE_VERSION = 1
const MAX_MULTIADDRS = 16
const MAX_GATEWAYS = 64
const MAX_OPERATORS = 64

const checksummed = addressSchema.transform((a) => getAddress(a))
/** A libp2p multiaddr as text (checked for shape here; libp2p parses it fully when dialling). */
export const multiaddrTextSchema = z.string().min(2).max(512).regex(/^\/[^\s]+$/, 'expected a multiaddr such as /ip4/127.0.0.1/tcp/4001/p2p/<peer id>')

export const fleetChainSchema = z.strictObject({
  /** A JSON-RPC URL; absent: the embedded EVM (one process only). */
  rpcUrl: z.url({ protocol: /^https?$/ }).optional().describe('JSON-RPC URL of the chain; absent: the embedded EVM (one process only)'),
  chainId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).describe("the chain's id (EIP-155), checked against the node at start"),
  confirmations: z.number().int().min(1).max(64).default(1).describe('blocks a transaction waits for on top of it before it counts as done'),
})

export const fleetGatewaySchema = z.strictObject({
  address: checksummed,
  /** Where agents dial it: multiaddrs ending in /p2p/<peer id>. */
  multiaddrs: z.array(multiaddrTextSchema).max(MAX_MULTIADDRS).default([]).describe('where agents dial the gateway, each ending in /p2p/<peer id> (cw gateway init prints them)'),
})

export const fleetFileSchema = z
  .strictObject({
    version: z.literal(FLEET_FILE_VERSION).describe('version of the fleet file format'),
    /** The fleet id (bytes32), as the contracts and every signed message know it. */
    fleet: bytes32Schema.refine((h) => BigInt(h) !== 0n, 'must not be zero'),
    name: z.string().min(1).max(128).describe('a name for people (`cw fleet init --name`)'),
    chain: fleetChainSchema.describe('the EVM chain the fleet settles on'),
    contracts: z
      .strictObject({
        registry: checksummed,
        ledger: checksummed,
        rewards: checksummed,
        /**
         * The reward leaves' layout: `cumulative` (one RewardLedger at registry, ledger and rewards, a
         * leaf per device with its total to date) or `per-round` (RoundLedger and Rewards, a leaf
         * per contribution). Files written before cumulative leaves have none: per-round.
         */
        leaves: z.enum(['cumulative', 'per-round']).default('per-round').describe('reward leaves: `cumulative` (one RewardLedger contract, a leaf per device with its total to date, one claim pays every round) or `per-round` (a leaf per contribution); files written before cumulative leaves have none: per-round'),
        /** Decimal block number of the registry's deployment: where event searches start. */
        deployedAt: z.string().regex(/^\d{1,20}$/, 'expected a decimal block number').describe("decimal block number of the registry's deployment: where event searches start"),
      })
      .describe("the fleet's contracts on the chain (for cumulative leaves all three are the one RewardLedger)"),
    owner: checksummed,
    gateways: z.array(fleetGatewaySchema).max(MAX_GATEWAYS).describe('the gateways the registry authorises to run rounds, and where agents dial them'),
    /** Keys that may sign in to a gateway's dashboard and act there (start rounds, change the schedule), besides the owner's. */
    operators: z.array(checksummed).max(MAX_OPERATORS).default([]).describe("keys that may sign in to a gateway's dashboard and act there (start rounds, change the schedule), besides the owner's"),
    domain: z
      .strictObject({
        name: z.literal(EIP712_DOMAIN_NAME).describe('EIP-712 domain name'),
        version: z.literal(EIP712_DOMAIN_VERSION).describe('EIP-712 domain version'),
        chainId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).describe('must equal `chain.chainId`'),
        verifyingContract: checksummed.describe('must equal `contracts.registry`'),
      })
      .describe('the EIP-712 domain every message of the fleet is signed under'),
  })
  .superRefine((f, ctx) => {
    if (f.domain.chainId !== f.chain.chainId) ctx.addIssue({ code: 'custom', path: ['domain', 'chainId'], message: `must equal chain.chainId (${f.chain.chainId})` })
    if (f.contracts.leaves === 'cumulative')
      for (const field of ['ledger', 'rewards'] as const)
        if (f.contracts[field] !== f.contracts.registry)
          ctx.addIssue({ code: 'custom', path: ['contracts', field], message: `must equal contracts.registry (${f.contracts.registry}): cumulative leaves live in one RewardLedger` })
    if (f.domain.verifyingContract !== f.contracts.registry)
      ctx.addIssue({ code: 'custom', path: ['domain', 'verifyingContract'], message: `must equal contracts.registry (${f.contracts.registry})` })
  })

export type FleetFileInput = z.input<typeof fleetFileSchema>
export type FleetFile = z.output<typeof fleetFileSchema> & { fleet: Hex; owner: Address; domain: FleetDomain }

/** Validates a parsed fleet.json; ConfigError names the file and field. */
export function parseFleetFile(value: unknown, file = 'fleet.json', prefix = ''): FleetFile {
  return parseConfig(file, fleetFileSchema, value, prefix) as FleetFile
}
