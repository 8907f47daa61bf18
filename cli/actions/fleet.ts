// `cw fleet init` and `cw fleet show`: creating a fleet (owner key, contracts, gateways,
// fleet.json) and showing one, with what the chain says about it. Passwords and PINs are never
// arguments: the key-store configuration file names the file or environment variable holding them.
// This is the implementation, loaded when the command runs; cli/commands/fleet.ts defines its options.
import { isHex, type Address, type Hex } from 'viem'
import { fleetRegistryAbi, listFleetDevices } from '../../protocols/index.js'
import { connectChain, readFleetFile } from '../../hardware/index.js'
import { createFleet, readKeyStoreConfig, setFleetGateway, type FleetGatewayParameters, type ProvisioningProgress } from '../../provisioning/index.js'
import { address, integer } from '../arguments.js'
import { toJson } from '../output.js'
import { UsageError } from '../usage-error.js'

/** Draws progress on stderr: one line per phase, rewritten in place on a terminal. */
export function progressPrinter(enabled: boolean): ((p: ProvisioningProgress) => void) | undefined {
  if (!enabled) return undefined
  const tty = process.stderr.isTTY
  let last = ''
  let lastPercent = -1
  return ({ phase, done, total }) => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100)
    const line = `${phase.padEnd(9)} ${done}/${total}`
    if (tty) process.stderr.write(`\r${line}${done === total ? '\n' : ''}`)
    else if (phase !== last || done === total || percent >= lastPercent + 10) {
      process.stderr.write(`${line}\n`)
      lastPercent = percent
    }
    last = phase
  }
}

/** `ADDRESS` or `ADDRESS=MULTIADDR[,MULTIADDR…]`. */
const gatewaySpec = (spec: string): FleetGatewayParameters => {
  const [a = '', addrs] = spec.split('=', 2)
  return { address: address('--gateway', a), multiaddrs: addrs === undefined ? [] : addrs.split(',').filter((m) => m.length > 0) }
}

export interface InitOptions {
  out: string
  name?: string
  ownerKey: string
  ownerLabel: string
  generateOwner?: boolean
  rpcUrl: string
  chainId: string
  confirmations?: string
  gateway: string[]
  attach?: string
  deployedAt?: string
  fleetId?: string
  progress: boolean
  json?: boolean
}

export interface SetGatewayOptions {
  multiaddr: string[]
  fleet: string
  ownerKey?: string
  ownerLabel: string
  bundle: string[]
  json?: boolean
}

export async function fleetSetGatewayCommand(gateway: string, o: SetGatewayOptions): Promise<void> {
  const result = await setFleetGateway({
    fleetFile: o.fleet,
    gateway: address('<address>', gateway),
    multiaddrs: o.multiaddr,
    bundles: o.bundle,
    ...(o.ownerKey === undefined ? {} : { owner: { keyStore: await readKeyStoreConfig(o.ownerKey), label: o.ownerLabel } }),
  })
  const entry = result.fleet.gateways.find((g) => g.address.toLowerCase() === gateway.toLowerCase())
  if (o.json === true) console.log(toJson({ gateway: entry, added: result.added, authorised: result.authorised, bundles: result.bundles }))
  else {
    console.log(`gateway   ${entry?.address ?? gateway}${result.added ? ' (added)' : ''}${result.authorised ? ' (authorised now)' : ''}`)
    for (const m of entry?.multiaddrs ?? []) console.log(`dial      ${m}`)
    console.log(`written   ${o.fleet}${result.bundles.length === 0 ? '' : ` and ${result.bundles.length} bundle${result.bundles.length === 1 ? '' : 's'}`}`)
  }
}

export interface ShowOptions {
  fleet: string
  offline?: boolean
  json?: boolean
}

export const withProgress = (enabled: boolean): { onProgress?: (p: ProvisioningProgress) => void } => {
  const printer = progressPrinter(enabled)
  return printer === undefined ? {} : { onProgress: printer }
}

export async function fleetInitCommand(o: InitOptions): Promise<void> {
  let attach: { registry: Address; ledger: Address; rewards: Address; deployedAt?: bigint } | undefined
  if (o.attach !== undefined) {
    const parts = o.attach.split(',')
    if (parts.length !== 3) throw new UsageError('--attach expects REGISTRY,LEDGER,REWARDS')
    const [registry, ledger, rewards] = parts.map((p) => address('--attach', p)) as [Address, Address, Address]
    attach = { registry, ledger, rewards, ...(o.deployedAt === undefined ? {} : { deployedAt: BigInt(integer('--deployed-at', o.deployedAt, 0, Number.MAX_SAFE_INTEGER)) }) }
  } else if (o.deployedAt !== undefined) throw new UsageError('--deployed-at goes with --attach')
  if (o.fleetId !== undefined && !(isHex(o.fleetId, { strict: true }) && o.fleetId.length === 66)) throw new UsageError('--fleet-id expects 32 bytes of 0x-hex')
  const keyStore = await readKeyStoreConfig(o.ownerKey)
  const result = await createFleet({
    file: o.out,
    owner: { keyStore, label: o.ownerLabel, generate: o.generateOwner === true },
    chain: {
      rpcUrl: o.rpcUrl,
      chainId: integer('--chain-id', o.chainId, 1, Number.MAX_SAFE_INTEGER),
      ...(o.confirmations === undefined ? {} : { confirmations: integer('--confirmations', o.confirmations, 1, 64) }),
    },
    gateways: o.gateway.map(gatewaySpec),
    ...(o.name === undefined ? {} : { name: o.name }),
    ...(o.fleetId === undefined ? {} : { fleet: o.fleetId as Hex }),
    ...(attach === undefined ? {} : { attach }),
    ...withProgress(o.progress),
  })
  if (o.json === true) console.log(toJson(result))
  else {
    const f = result.fleet
    console.log(`fleet     ${f.fleet} (${f.name})`)
    console.log(`owner     ${f.owner}`)
    console.log(`registry  ${f.contracts.registry}${result.deployed ? ' (deployed)' : ' (attached)'}`)
    console.log(`ledger    ${f.contracts.ledger}`)
    console.log(`rewards   ${f.contracts.rewards}`)
    console.log(`leaves    ${f.contracts.leaves}`)
    for (const g of f.gateways) console.log(`gateway   ${g.address}${result.authorised.includes(g.address) ? ' (authorised now)' : ''}`)
    console.log(`written   ${result.file}`)
  }
}

export async function fleetShowCommand(o: ShowOptions): Promise<void> {
  const f = await readFleetFile(o.fleet)
  let chain: { owner: Address; gateways: { address: Address; authorised: boolean }[]; devices: { registered: number; revoked: number } } | undefined
  if (o.offline !== true) {
    if (f.chain.rpcUrl === undefined) throw new UsageError('the fleet names no rpcUrl: use --offline')
    const connection = await connectChain({ config: { rpcUrl: f.chain.rpcUrl, chainId: f.chain.chainId } })
    try {
      const client = connection.publicClient
      const registry = f.contracts.registry
      const owner = await client.readContract({ address: registry, abi: fleetRegistryAbi, functionName: 'owner' })
      const gateways = await Promise.all(
        f.gateways.map(async (g) => ({ address: g.address, authorised: await client.readContract({ address: registry, abi: fleetRegistryAbi, functionName: 'isGateway', args: [g.address] }) })),
      )
      const devices = await listFleetDevices(client, { registry, fromBlock: BigInt(f.contracts.deployedAt) })
      chain = { owner, gateways, devices: { registered: devices.filter((d) => d.status === 'registered').length, revoked: devices.filter((d) => d.status === 'revoked').length } }
    } finally {
      await connection.close()
    }
  }
  if (o.json === true) {
    console.log(toJson({ fleet: f, ...(chain === undefined ? {} : { chain }) }))
    return
  }
  console.log(`fleet     ${f.fleet} (${f.name})`)
  console.log(`chain     ${f.chain.chainId}${f.chain.rpcUrl === undefined ? ' (embedded)' : ` ${f.chain.rpcUrl}`}`)
  console.log(`owner     ${f.owner}${chain === undefined ? '' : chain.owner === f.owner ? ' (matches the registry)' : ` (the registry says ${chain.owner})`}`)
  console.log(`registry  ${f.contracts.registry} (deployed at block ${f.contracts.deployedAt})`)
  console.log(`ledger    ${f.contracts.ledger}`)
  console.log(`rewards   ${f.contracts.rewards}`)
  console.log(`leaves    ${f.contracts.leaves}`)
  for (const g of f.gateways) {
    const on = chain?.gateways.find((c) => c.address === g.address)
    console.log(`gateway   ${g.address}${on === undefined ? '' : on.authorised ? ' authorised' : ' NOT authorised'}${g.multiaddrs.length > 0 ? ` ${g.multiaddrs.join(' ')}` : ''}`)
  }
  if (chain !== undefined) console.log(`devices   ${chain.devices.registered} registered, ${chain.devices.revoked} revoked`)
}
