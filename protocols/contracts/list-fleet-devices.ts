// The devices of a fleet as its FleetRegistry's events tell them: every DeviceRegistered, less
// those a later DeviceRevoked revoked. What a gateway takes as the eligible devices of a round, and
// what anyone can recompute from the chain alone. A pure read through a viem client the caller brings.
import { getAddress, isAddress, type Address, type Client, type Hex } from 'viem'
import { getBlockNumber, getContractEvents } from 'viem/actions'
import { ContractReadError, InvalidArgumentError } from '../errors.js'
import { fleetRegistryAbi } from './artifacts.js'

export interface ListFleetDevicesParameters {
  /** The fleet's FleetRegistry. */
  registry: Address
  /** Where the event search starts: the registry's deployment block (fleet.json `contracts.deployedAt`). */
  fromBlock?: bigint
  /** Where it ends (inclusive); default: the latest block. A round's selection is recomputed from its announced `eligibleBlock`. */
  toBlock?: bigint
  signal?: AbortSignal
}

export interface FleetDevice {
  device: Address
  /** EIP-712 hash of the DeviceCertificate it was registered with. */
  certificateHash: Hex
  /** The registration batch. */
  batch: bigint
  status: 'registered' | 'revoked'
}

/** Every device ever registered, ascending by address; `status` says whether it was revoked since. */
export type ListFleetDevicesReturnType = FleetDevice[]

export async function listFleetDevices(client: Client, parameters: ListFleetDevicesParameters): Promise<ListFleetDevicesReturnType> {
  const { registry, fromBlock = 0n, signal } = parameters
  if (parameters.toBlock !== undefined && parameters.toBlock < fromBlock) throw new InvalidArgumentError('toBlock', 'must not be before fromBlock')
  if (!isAddress(registry, { strict: false })) throw new InvalidArgumentError('registry', 'expected a 20-byte address')
  if (fromBlock < 0n) throw new InvalidArgumentError('fromBlock', 'expected a block number')
  signal?.throwIfAborted()
  const range = { address: getAddress(registry), abi: fleetRegistryAbi, fromBlock, toBlock: 'latest', strict: true } as const
  let registered, revoked
  try {
    // One block range for both, so that a revocation is never seen without its registration.
    const toBlock = parameters.toBlock ?? (await getBlockNumber(client, { cacheTime: 0 }))
    ;[registered, revoked] = await Promise.all([
      getContractEvents(client, { ...range, toBlock, eventName: 'DeviceRegistered' }),
      getContractEvents(client, { ...range, toBlock, eventName: 'DeviceRevoked' }),
    ])
  } catch (err) {
    throw new ContractReadError('FleetRegistry events', { cause: err })
  }
  signal?.throwIfAborted()
  const revokedSet = new Set(revoked.map((e) => getAddress(e.args.device)))
  const devices = new Map<Address, FleetDevice>()
  for (const e of registered) {
    const device = getAddress(e.args.device)
    devices.set(device, { device, certificateHash: e.args.certificateHash, batch: e.args.batch, status: revokedSet.has(device) ? 'revoked' : 'registered' })
  }
  return [...devices.values()].sort((a, b) => (a.device.toLowerCase() < b.device.toLowerCase() ? -1 : 1))
}
