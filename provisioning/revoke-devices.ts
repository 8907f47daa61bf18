// Revocation: devices revoked on the fleet's registry in batches, and journalled. Gateways read
// the registry on every submission (gateway/settlement ChainRegistry), so a revoked device is
// refused from its next submission on. Revocation is final. Revoking a device revoked already
// does nothing; a device the registry does not hold is refused before anything is sent.
import { getAddress, isAddress, type Address, type Hex } from 'viem'
import { fleetRegistryAbi, InvalidArgumentError, type FleetFile } from '../protocols/index.js'
import { DeviceNotRegisteredError, revokeDevices as revokeOnChain } from '../hardware/index.js'
import { DEFAULT_BATCH_SIZE } from './constants.js'
import type { JournalEntry } from './journal.js'
import { openOwnerSession, unixNow, type OwnerKeyParameters, type ProvisioningOptions } from './owner-session.js'

export interface RevokeDevicesParameters extends ProvisioningOptions {
  fleet: string | FleetFile
  owner: OwnerKeyParameters
  stateDir: string
  devices: readonly Address[]
  batchSize?: number
}

export interface RevokeDevicesReturnType {
  revoked: Address[]
  /** Devices that were revoked before this call. */
  skipped: Address[]
  transactions: Hex[]
}

const STATUS_UNKNOWN = 0
const STATUS_REVOKED = 2

export async function revokeDevices(parameters: RevokeDevicesParameters): Promise<RevokeDevicesReturnType> {
  const seen = new Set<Address>()
  const devices = parameters.devices.map((d, i) => {
    if (!isAddress(d, { strict: false })) throw new InvalidArgumentError(`devices.${i}`, 'expected a 20-byte address')
    const a = getAddress(d)
    if (seen.has(a)) throw new InvalidArgumentError(`devices.${i}`, `${a} is named twice`)
    seen.add(a)
    return a
  })
  const batchSize = parameters.batchSize ?? DEFAULT_BATCH_SIZE
  const session = await openOwnerSession(parameters)
  try {
    const { connection, fleet, owner } = session
    const journal = session.journal
    const registry = fleet.contracts.registry
    const statuses = await Promise.all(devices.map((device) => connection.publicClient.readContract({ address: registry, abi: fleetRegistryAbi, functionName: 'status', args: [device] })))
    // Every device is checked before the first transaction: one unknown address sends nothing.
    for (const [i, s] of statuses.entries()) if (s === STATUS_UNKNOWN) throw new DeviceNotRegisteredError('DeviceNotRegistered', [devices[i]])
    const skipped = devices.filter((_, i) => statuses[i] === STATUS_REVOKED)
    const pending = devices.filter((_, i) => statuses[i] !== STATUS_REVOKED)
    const transactions: Hex[] = []
    const now = unixNow()
    for (let start = 0; start < pending.length; start += batchSize) {
      const chunk = pending.slice(start, start + batchSize)
      const receipt = await revokeOnChain(connection, { owner: owner.account, registry, devices: chunk, ...(parameters.signal === undefined ? {} : { signal: parameters.signal }) })
      transactions.push(receipt.transactionHash)
      await journal?.append(chunk.filter((d) => journal.get(d) !== undefined).map((device) => ({ v: 1, event: 'revoked', device, replacedBy: null, at: now }) satisfies JournalEntry))
      parameters.onProgress?.({ phase: 'revoke', done: start + chunk.length, total: pending.length })
    }
    // Revoked on chain by another run whose journal entry is missing: record it here too.
    const unrecorded = skipped.filter((d) => journal?.get(d) !== undefined && journal.get(d)?.state !== 'revoked')
    await journal?.append(unrecorded.map((device) => ({ v: 1, event: 'revoked', device, replacedBy: null, at: now }) satisfies JournalEntry))
    session.logger.info({ revoked: pending.length, skipped: skipped.length }, 'devices revoked')
    return { revoked: pending, skipped, transactions }
  } finally {
    await session.close()
  }
}
