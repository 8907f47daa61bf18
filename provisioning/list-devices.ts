// The fleet's devices as the chain (the registry's events and each device's status) and the
// owner's journal tell them together, with one status each:
//   active      registered on chain, bundle written, certificate valid now;
//   expired     registered, but its certificate is outside its validity window;
//   registering certified in the journal, not yet registered on chain (a run to resume);
//   registered  registered on chain, bundle not yet written (a run to resume);
//   revoked     revoked on chain;
//   unrecorded  registered on chain by an enrolment this state directory has no record of.
import { type Address, type Hex } from 'viem'
import { listFleetDevices, type FleetFile } from '../protocols/index.js'
import { journalCertificate } from './enrol-devices.js'
import { foldJournal, readJournal, type DeviceRecord } from './journal.js'
import { connectFleetChain, loadFleet, unixNow, type ProvisioningOptions } from './owner-session.js'

export type DeviceStatus = 'active' | 'expired' | 'registering' | 'registered' | 'revoked' | 'unrecorded'

export interface DeviceListing {
  device: Address
  status: DeviceStatus
  /** What the registry says. */
  chain: 'registered' | 'revoked' | 'unknown'
  /** What the journal says; null when it has no record. */
  journal: DeviceRecord['state'] | null
  serial: string | null
  peerId: string | null
  certificateHash: Hex | null
  /** Unix seconds; null when the journal has no certificate. */
  validUntil: number | null
  bundle: string | null
  previous: Address | null
  replacedBy: Address | null
}

export interface ListDevicesParameters extends Omit<ProvisioningOptions, 'onProgress' | 'env'> {
  fleet: string | FleetFile
  /** The owner's state directory; without one, the chain alone. */
  stateDir?: string
  now?: number
}

export type ListDevicesReturnType = DeviceListing[]

export async function listDevices(parameters: ListDevicesParameters): Promise<ListDevicesReturnType> {
  const fleet = await loadFleet(parameters.fleet)
  const now = BigInt(parameters.now ?? unixNow())
  // Read without the lock: listing never writes, and may run beside an enrolment.
  const records = parameters.stateDir === undefined ? new Map<Address, DeviceRecord>() : foldJournal(await readJournal(parameters.stateDir))
  const chain = await connectFleetChain({ fleet, ...(parameters.connection === undefined ? {} : { connection: parameters.connection }), ...(parameters.logger === undefined ? {} : { logger: parameters.logger }) })
  let onChain
  try {
    onChain = await listFleetDevices(chain.connection.publicClient, {
      registry: fleet.contracts.registry,
      fromBlock: BigInt(fleet.contracts.deployedAt),
      ...(parameters.signal === undefined ? {} : { signal: parameters.signal }),
    })
  } finally {
    await chain.close()
  }
  const byDevice = new Map(onChain.map((d) => [d.device, d]))
  const all = new Set<Address>([...records.keys(), ...byDevice.keys()])
  const listing: DeviceListing[] = []
  for (const device of all) {
    const record = records.get(device)
    const c = byDevice.get(device)
    const chainStatus = c?.status ?? 'unknown'
    const validUntil = record === undefined ? null : journalCertificate(record).message.validUntil
    const validFrom = record === undefined ? null : journalCertificate(record).message.validFrom
    let status: DeviceStatus
    if (chainStatus === 'revoked') status = 'revoked'
    else if (chainStatus === 'unknown') status = record?.state === 'revoked' ? 'revoked' : 'registering'
    else if (record === undefined) status = 'unrecorded'
    else if (record.state === 'certified') status = 'registered'
    else if (validUntil !== null && validFrom !== null && (now > validUntil || now < validFrom)) status = 'expired'
    else status = 'active'
    listing.push({
      device,
      status,
      chain: chainStatus,
      journal: record?.state ?? null,
      serial: record?.serial ?? null,
      peerId: record?.peerId ?? null,
      certificateHash: record?.certificateHash ?? c?.certificateHash ?? null,
      validUntil: validUntil === null ? null : Number(validUntil),
      bundle: record?.bundle ?? null,
      previous: record?.previous ?? null,
      replacedBy: record?.replacedBy ?? null,
    })
  }
  return listing.sort((a, b) => (a.device.toLowerCase() < b.device.toLowerCase() ? -1 : 1))
}
