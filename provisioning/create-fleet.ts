// Fleet creation: the owner key in its key store (generated there if asked), the fleet's
// contracts deployed (or existing ones attached and checked to fit together), the gateways
// authorised, and fleet.json written last, so that a failed run leaves no fleet file behind.
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pino } from 'pino'
import { bytesToHex, getAddress, isAddress, isAddressEqual, isHex, type Address, type Hex } from 'viem'
import { fleetRegistryAbi, fleetDomain, rewardLedgerAbi, rewardsAbi, roundLedgerAbi, FLEET_FILE_VERSION, multiaddrTextSchema, type FleetFile, type FleetFileInput } from '../protocols/index.js'
import {
  connectChain,
  deployFleet,
  readFleetFile,
  setGateway,
  writeFleetFile,
  type ChainConfig,
  type ChainConnection,
  type FleetContracts,
} from '../hardware/index.js'
import { DEFAULT_FLEET_NAME, DEFAULT_OWNER_KEY_LABEL } from './constants.js'
import { FleetSetupError } from './errors.js'
import { openOwnerKey } from './key-stores.js'
import type { OwnerKeyParameters, ProvisioningOptions } from './owner-session.js'

export interface FleetGatewayParameters {
  address: Address
  /** Where agents dial it: multiaddrs ending in /p2p/<peer id>. */
  multiaddrs?: readonly string[]
}

export interface CreateFleetParameters extends ProvisioningOptions {
  /** Where to write fleet.json; refused when it exists. */
  file: string
  name?: string
  /** The fleet id (bytes32); 32 random bytes when absent. */
  fleet?: Hex
  owner: OwnerKeyParameters & {
    /** Generate the owner key when the store has none under its label. */
    generate?: boolean
  }
  /**
   * The chain: `{ rpcUrl, chainId }` (`confirmations` optional). Without `rpcUrl` a `connection`
   * must be given (an embedded EVM in this process), and fleet.json records none.
   */
  chain: Pick<ChainConfig, 'rpcUrl' | 'chainId' | 'confirmations'>
  /** Gateways to authorise; an address alone, or with its multiaddrs. */
  gateways?: readonly (Address | FleetGatewayParameters)[]
  /**
   * Attach to contracts already deployed instead of deploying new ones. A ledger that is also the
   * rewards contract is a RewardLedger (cumulative leaves); two addresses are the per-round pair.
   */
  attach?: Omit<FleetContracts, 'deployedAt' | 'leaves'> & { deployedAt?: bigint }
}

export interface CreateFleetReturnType {
  fleet: FleetFile
  file: string
  /** Whether the contracts were deployed by this call (false: attached). */
  deployed: boolean
  /** Gateways authorised by this call (those already authorised are left as they were). */
  authorised: Address[]
}

const normaliseGateways = (gateways: CreateFleetParameters['gateways'] = []): { address: Address; multiaddrs: string[] }[] => {
  const seen = new Set<Address>()
  return gateways.map((g, i) => {
    const entry = typeof g === 'string' ? { address: g, multiaddrs: [] } : { address: g.address, multiaddrs: [...(g.multiaddrs ?? [])] }
    if (!isAddress(entry.address, { strict: false })) throw new FleetSetupError(`gateways.${i}.address`, 'expected a 20-byte address')
    const address = getAddress(entry.address)
    if (seen.has(address)) throw new FleetSetupError(`gateways.${i}.address`, `${address} is named twice`)
    seen.add(address)
    checkGatewayMultiaddrs(entry.multiaddrs, `gateways.${i}.multiaddrs`)
    return { address, multiaddrs: entry.multiaddrs }
  })
}

/** Each multiaddr parses and names the gateway's peer (`/p2p/<peer id>`): agents dial no other (`cw gateway init` prints them). */
export function checkGatewayMultiaddrs(multiaddrs: readonly string[], field: string): void {
  for (const [j, m] of multiaddrs.entries())
    if (!multiaddrTextSchema.safeParse(m).success) throw new FleetSetupError(`${field}.${j}`, `${JSON.stringify(m)} is not a multiaddr`)
    else if (!/\/p2p\/[^/]+/.test(m))
      throw new FleetSetupError(
        `${field}.${j}`,
        `${JSON.stringify(m)} has no /p2p/<peer id>, and agents dial only addresses that name the peer: append the gateway's peer id (${m}/p2p/<peer id>; cw gateway init prints it)`,
      )
}

const randomFleetId = (): Hex => bytesToHex(crypto.getRandomValues(new Uint8Array(32)))

export async function createFleet(parameters: CreateFleetParameters): Promise<CreateFleetReturnType> {
  const { signal, onProgress } = parameters
  const logger = (parameters.logger ?? pino({ enabled: false })).child({ component: 'provisioning' })
  const file = resolve(parameters.file)
  // Everything that can be checked without the chain is checked before the chain is touched.
  if ((await stat(file).catch(() => undefined)) !== undefined) throw new FleetSetupError('file', `${file} exists; a fleet file is never overwritten`)
  const fleetId = parameters.fleet ?? randomFleetId()
  if (!isHex(fleetId, { strict: true }) || fleetId.length !== 66 || BigInt(fleetId) === 0n) throw new FleetSetupError('fleet', 'expected a non-zero bytes32')
  const name = parameters.name ?? DEFAULT_FLEET_NAME
  if (name.length === 0 || name.length > 128) throw new FleetSetupError('name', 'expected 1 to 128 characters')
  const gateways = normaliseGateways(parameters.gateways)
  const { rpcUrl, chainId } = parameters.chain
  if (chainId === undefined) throw new FleetSetupError('chain.chainId', 'required')
  if (rpcUrl === undefined && parameters.connection === undefined)
    throw new FleetSetupError('chain.rpcUrl', 'required unless an open connection (an embedded EVM in this process) is given')

  const options = signal === undefined ? {} : { signal }
  const owner = await openOwnerKey({
    config: parameters.owner.keyStore,
    label: parameters.owner.label ?? DEFAULT_OWNER_KEY_LABEL,
    generate: parameters.owner.generate ?? false,
    logger,
    ...(parameters.env === undefined ? {} : { env: parameters.env }),
    ...options,
  })
  let connection: ChainConnection | undefined
  try {
    connection =
      parameters.connection ??
      (await connectChain({ config: { chainId, ...(rpcUrl === undefined ? {} : { rpcUrl }), ...(parameters.chain.confirmations === undefined ? {} : { confirmations: parameters.chain.confirmations }) }, logger, ...options }))
    if (connection.chain.id !== chainId) throw new FleetSetupError('chain.chainId', `${chainId} given, the connection is to chain ${connection.chain.id}`)
    const account = owner.account
    const balance = await connection.publicClient.getBalance({ address: account.address })
    if (balance === 0n) throw new FleetSetupError('owner', `${account.address} holds no ether on chain ${chainId} to pay for its transactions; fund it first`)

    let contracts: FleetContracts
    let deployed = false
    if (parameters.attach === undefined) {
      onProgress?.({ phase: 'deploy', done: 0, total: 3 })
      contracts = await deployFleet(connection, { owner: account, fleet: fleetId, ...options })
      deployed = true
      onProgress?.({ phase: 'deploy', done: 3, total: 3 })
    } else {
      contracts = await checkAttached(connection, parameters.attach, fleetId, account.address)
    }

    const authorised: Address[] = []
    for (const [i, g] of gateways.entries()) {
      const already = await connection.publicClient.readContract({ address: contracts.registry, abi: fleetRegistryAbi, functionName: 'isGateway', args: [g.address] })
      if (!already) {
        await setGateway(connection, { owner: account, registry: contracts.registry, gateway: g.address, authorised: true, ...options })
        authorised.push(g.address)
      }
      onProgress?.({ phase: 'authorise', done: i + 1, total: gateways.length })
    }

    const input: FleetFileInput = {
      version: FLEET_FILE_VERSION,
      fleet: fleetId,
      name,
      chain: { ...(rpcUrl === undefined ? {} : { rpcUrl }), chainId, confirmations: connection.config.confirmations },
      contracts: { registry: contracts.registry, ledger: contracts.ledger, rewards: contracts.rewards, leaves: contracts.leaves, deployedAt: contracts.deployedAt.toString() },
      owner: account.address,
      gateways,
      domain: fleetDomain({ chainId, verifyingContract: contracts.registry }),
    }
    await writeFleetFile(file, input)
    logger.info({ fleet: fleetId, registry: contracts.registry, file }, 'fleet created')
    return { fleet: await readFleetFile(file), file, deployed, authorised }
  } finally {
    if (parameters.connection === undefined) await connection?.close()
    await owner.close()
  }
}

/** The contracts to attach to: a registry of this fleet owned by this owner, a ledger on it, rewards on that ledger. */
async function checkAttached(connection: ChainConnection, attach: NonNullable<CreateFleetParameters['attach']>, fleet: Hex, owner: Address): Promise<FleetContracts> {
  const client = connection.publicClient
  const addresses = { registry: attach.registry, ledger: attach.ledger, rewards: attach.rewards }
  for (const [field, a] of Object.entries(addresses))
    if (!isAddress(a, { strict: false })) throw new FleetSetupError(`attach.${field}`, 'expected a 20-byte address')
  const read = async <T>(field: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f()
    } catch (cause) {
      throw new FleetSetupError(`attach.${field}`, 'is not the contract it should be (the read failed)', { cause })
    }
  }
  const registry = getAddress(attach.registry)
  const ledger = getAddress(attach.ledger)
  const rewards = getAddress(attach.rewards)
  const registryOwner = await read('registry', () => client.readContract({ address: registry, abi: fleetRegistryAbi, functionName: 'owner' }))
  if (!isAddressEqual(registryOwner, owner)) throw new FleetSetupError('attach.registry', `is owned by ${registryOwner}, not by the owner key ${owner}`)
  const registryFleet = await read('registry', () => client.readContract({ address: registry, abi: fleetRegistryAbi, functionName: 'fleet' }))
  if (registryFleet.toLowerCase() !== fleet.toLowerCase()) throw new FleetSetupError('fleet', `the registry is fleet ${registryFleet}`)
  const ledgerRegistry = await read('ledger', () => client.readContract({ address: ledger, abi: roundLedgerAbi, functionName: 'registry' }))
  if (!isAddressEqual(ledgerRegistry, registry)) throw new FleetSetupError('attach.ledger', `is bound to registry ${ledgerRegistry}`)
  if (isAddressEqual(ledger, rewards)) {
    // One address for all three: a RewardLedger (its registry() is itself, checked above).
    await read('ledger', () => client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'claimExpiry' }))
    return { registry, ledger, rewards, leaves: 'cumulative', deployedAt: attach.deployedAt ?? 0n }
  }
  const rewardsLedger = await read('rewards', () => client.readContract({ address: rewards, abi: rewardsAbi, functionName: 'ledger' }))
  if (!isAddressEqual(rewardsLedger, ledger)) throw new FleetSetupError('attach.rewards', `is bound to ledger ${rewardsLedger}`)
  return { registry, ledger, rewards, leaves: 'per-round', deployedAt: attach.deployedAt ?? 0n }
}
