// `cw fleet set-gateway`: a gateway's multiaddrs changed (a new host, a new port) or a gateway
// joins the fleet. fleet.json gets the gateway's entry (replaced or added); a gateway the registry
// does not authorise yet is authorised by the owner first; and each device bundle named gets the
// new fleet file, with the gateway's old multiaddrs gone from its bootstrap list. Everything is
// checked before anything is written; each file is rewritten atomically.
import { pino } from 'pino'
import { getAddress, isAddress, isAddressEqual, type Address } from 'viem'
import { fleetRegistryAbi, type FleetFile, type FleetFileInput } from '../protocols/index.js'
import { parseDeviceBundle, readJsonConfig, readFleetFile, setGateway, writeDeviceBundle, writeFleetFile, type DeviceBundleInput } from '../hardware/index.js'
import { DEFAULT_OWNER_KEY_LABEL } from './constants.js'
import { checkGatewayMultiaddrs } from './create-fleet.js'
import { FleetSetupError, OwnerMismatchError } from './errors.js'
import { openOwnerKey } from './key-stores.js'
import { connectFleetChain, type OwnerKeyParameters, type ProvisioningOptions } from './owner-session.js'

export interface SetFleetGatewayParameters extends ProvisioningOptions {
  /** fleet.json, rewritten in place. */
  fleetFile: string
  gateway: Address
  /** Where agents dial it, each ending in /p2p/<peer id>; they replace the entry's list. */
  multiaddrs: readonly string[]
  /** The owner key: needed only when the registry does not authorise the gateway yet. */
  owner?: OwnerKeyParameters
  /** Device bundles (device.json) of this fleet to rewrite with the new fleet file. */
  bundles?: readonly string[]
}

export interface SetFleetGatewayReturnType {
  fleet: FleetFile
  /** Whether the gateway was new to fleet.json, and whether this call authorised it on chain. */
  added: boolean
  authorised: boolean
  bundles: string[]
}

export async function setFleetGateway(parameters: SetFleetGatewayParameters): Promise<SetFleetGatewayReturnType> {
  const logger = (parameters.logger ?? pino({ enabled: false })).child({ component: 'provisioning' })
  if (!isAddress(parameters.gateway, { strict: false })) throw new FleetSetupError('gateway', 'expected a 20-byte address')
  const gateway = getAddress(parameters.gateway)
  checkGatewayMultiaddrs(parameters.multiaddrs, 'multiaddrs')
  const fleet = await readFleetFile(parameters.fleetFile)
  const previous = fleet.gateways.find((g) => isAddressEqual(g.address, gateway))
  const gateways = previous === undefined ? [...fleet.gateways, { address: gateway, multiaddrs: [...parameters.multiaddrs] }] : fleet.gateways.map((g) => (g === previous ? { address: gateway, multiaddrs: [...parameters.multiaddrs] } : g))
  const next: FleetFileInput = { ...fleet, gateways }

  // The bundles are read and checked to be of this fleet before any file changes.
  const bundles: { file: string; raw: DeviceBundleInput }[] = []
  for (const file of parameters.bundles ?? []) {
    const raw = await readJsonConfig(file, (value, f) => {
      const parsed = parseDeviceBundle(value, f)
      if (parsed.fleet.fleet.toLowerCase() !== fleet.fleet.toLowerCase()) throw new FleetSetupError('bundles', `${f} is a bundle of fleet ${parsed.fleet.fleet}, not ${fleet.fleet}`)
      return value as DeviceBundleInput
    })
    bundles.push({ file, raw })
  }

  // On chain: the registry must authorise the gateway, or agents and the ledger ignore it.
  const chain = await connectFleetChain({ fleet, logger, ...(parameters.connection === undefined ? {} : { connection: parameters.connection }) })
  let authorised = false
  try {
    const client = chain.connection.publicClient
    const already = await client.readContract({ address: fleet.contracts.registry, abi: fleetRegistryAbi, functionName: 'isGateway', args: [gateway] })
    if (!already) {
      if (parameters.owner === undefined) throw new FleetSetupError('owner', `${gateway} is not authorised by the registry ${fleet.contracts.registry}: give the owner key (--owner-key) to authorise it`)
      const owner = await openOwnerKey({ config: parameters.owner.keyStore, label: parameters.owner.label ?? DEFAULT_OWNER_KEY_LABEL, logger, ...(parameters.env === undefined ? {} : { env: parameters.env }) })
      try {
        if (!isAddressEqual(owner.signer.address, fleet.owner)) throw new OwnerMismatchError(fleet.owner, owner.signer.address)
        await setGateway(chain.connection, { owner: owner.account, registry: fleet.contracts.registry, gateway, authorised: true, ...(parameters.signal === undefined ? {} : { signal: parameters.signal }) })
        authorised = true
      } finally {
        await owner.close()
      }
    }
  } finally {
    await chain.close()
  }

  await writeFleetFile(parameters.fleetFile, next)
  const stale = new Set(previous?.multiaddrs ?? [])
  for (const { file, raw } of bundles) {
    // The agent dials the fleet file's gateway multiaddrs besides its bootstrap list: the new ones need no copy there.
    const bootstrap = (raw.bootstrap ?? []).filter((m) => !stale.has(m))
    await writeDeviceBundle(file, { ...raw, fleet: next, bootstrap })
  }
  logger.info({ gateway, multiaddrs: parameters.multiaddrs, added: previous === undefined, authorised, bundles: bundles.length }, 'gateway set')
  return { fleet: await readFleetFile(parameters.fleetFile), added: previous === undefined, authorised, bundles: bundles.map((b) => b.file) }
}
