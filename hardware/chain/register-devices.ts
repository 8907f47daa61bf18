// Fleet-owner operations on the FleetRegistry: authorising gateways, registering devices in
// batches, revoking. Registration skips devices the registry already holds, so a run that was
// interrupted can simply be repeated.
import { getAddress, isAddress, isHex, type Address, type Hex, type LocalAccount, type TransactionReceipt } from 'viem'
import { fleetRegistryAbi } from '../../protocols/contracts/index.js'
import { InvalidArgumentError } from '../../protocols/index.js'
import type { ChainConnection } from './connect-chain.js'
import { DEFAULT_REGISTER_BATCH, MAX_REGISTER_BATCH } from './constants.js'
import { writeAndConfirm } from './send-transaction.js'

export interface DeviceRegistration {
  device: Address
  /** EIP-712 hash of the device's DeviceCertificate. */
  certificateHash: Hex
}

export interface RegisterDevicesParameters {
  owner: LocalAccount
  registry: Address
  devices: readonly DeviceRegistration[]
  batchSize?: number
  signal?: AbortSignal
  onProgress?: (registered: number, total: number) => void
}

export interface RegisterDevicesReturnType {
  registered: Address[]
  /** Devices that were registered (or revoked) before this call. */
  skipped: Address[]
  receipts: TransactionReceipt[]
}

const STATUS_UNKNOWN = 0

export async function registerDevices(connection: ChainConnection, parameters: RegisterDevicesParameters): Promise<RegisterDevicesReturnType> {
  const { owner, registry, signal } = parameters
  const batchSize = parameters.batchSize ?? DEFAULT_REGISTER_BATCH
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_REGISTER_BATCH)
    throw new InvalidArgumentError('batchSize', `expected an integer in 1..${MAX_REGISTER_BATCH}`)
  const seen = new Set<Address>()
  const devices = parameters.devices.map((d, i) => {
    if (!isAddress(d.device, { strict: false })) throw new InvalidArgumentError(`devices.${i}.device`, 'expected a 20-byte address')
    if (!isHex(d.certificateHash, { strict: true }) || d.certificateHash.length !== 66 || BigInt(d.certificateHash) === 0n)
      throw new InvalidArgumentError(`devices.${i}.certificateHash`, 'expected a non-zero bytes32')
    const device = getAddress(d.device)
    if (seen.has(device)) throw new InvalidArgumentError(`devices.${i}.device`, `device ${device} appears twice`)
    seen.add(device)
    return { device, certificateHash: d.certificateHash }
  })
  const registered: Address[] = []
  const skipped: Address[] = []
  const receipts: TransactionReceipt[] = []
  for (let start = 0; start < devices.length; start += batchSize) {
    signal?.throwIfAborted()
    const chunk = devices.slice(start, start + batchSize)
    const statuses = await Promise.all(
      chunk.map((d) => connection.publicClient.readContract({ address: registry, abi: fleetRegistryAbi, functionName: 'status', args: [d.device] })),
    )
    const fresh = chunk.filter((_, i) => statuses[i] === STATUS_UNKNOWN)
    skipped.push(...chunk.filter((_, i) => statuses[i] !== STATUS_UNKNOWN).map((d) => d.device))
    if (fresh.length > 0) {
      receipts.push(
        await writeAndConfirm(connection, {
          account: owner,
          address: registry,
          abi: fleetRegistryAbi,
          functionName: 'registerDevices',
          args: [fresh.map((d) => d.device), fresh.map((d) => d.certificateHash)],
          ...(signal === undefined ? {} : { signal }),
        }),
      )
      registered.push(...fresh.map((d) => d.device))
    }
    parameters.onProgress?.(registered.length + skipped.length, devices.length)
  }
  connection.logger.info({ registered: registered.length, skipped: skipped.length }, 'devices registered')
  return { registered, skipped, receipts }
}

export interface RevokeDevicesParameters {
  owner: LocalAccount
  registry: Address
  devices: readonly Address[]
  signal?: AbortSignal
}

export async function revokeDevices(connection: ChainConnection, parameters: RevokeDevicesParameters): Promise<TransactionReceipt> {
  const { owner, registry, devices, signal } = parameters
  for (const [i, d] of devices.entries()) if (!isAddress(d, { strict: false })) throw new InvalidArgumentError(`devices.${i}`, 'expected a 20-byte address')
  return writeAndConfirm(connection, {
    account: owner,
    address: registry,
    abi: fleetRegistryAbi,
    functionName: 'revokeDevices',
    args: [devices.map((d) => getAddress(d))],
    ...(signal === undefined ? {} : { signal }),
  })
}

export interface SetGatewayParameters {
  owner: LocalAccount
  registry: Address
  gateway: Address
  authorised: boolean
  signal?: AbortSignal
}

export async function setGateway(connection: ChainConnection, parameters: SetGatewayParameters): Promise<TransactionReceipt> {
  const { owner, registry, gateway, authorised, signal } = parameters
  if (!isAddress(gateway, { strict: false })) throw new InvalidArgumentError('gateway', 'expected a 20-byte address')
  return writeAndConfirm(connection, {
    account: owner,
    address: registry,
    abi: fleetRegistryAbi,
    functionName: 'setGateway',
    args: [getAddress(gateway), authorised],
    ...(signal === undefined ? {} : { signal }),
  })
}
