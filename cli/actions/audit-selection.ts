// `cw audit round --fleet`: the round's participant selection recomputed from the chain. The
// devices registered (and not revoked) at the announcement's `eligibleBlock` are read from the
// fleet's registry, and the announced rule must select the announced set, which every
// contribution must come from.
import type { Client } from 'viem'
import { auditSelection, listFleetDevices, type AuditItem, type FleetFile, type RoundRecord } from '../../protocols/index.js'

export async function selectionItems(client: Client, fleet: FleetFile, record: RoundRecord): Promise<AuditItem[]> {
  const a = record.announcement.message
  const fromBlock = BigInt(fleet.contracts.deployedAt)
  // Block 0: the round's eligible devices were not read from the chain (a RoundRunner used
  // without one); the daemon always names the block it read. Said, not counted as a mismatch.
  if (a.eligibleBlock === 0n) return [{ item: 'selection', ok: true, detail: 'not checked: the announcement names no eligible block (the devices were not read from the chain)' }]
  if (a.eligibleBlock < fromBlock)
    return [{ item: 'selection', ok: false, detail: `eligible block ${a.eligibleBlock} is before the registry was deployed (block ${fromBlock})` }]
  const devices = await listFleetDevices(client, { registry: fleet.contracts.registry, fromBlock, toBlock: a.eligibleBlock })
  return auditSelection(record, devices.filter((d) => d.status === 'registered').map((d) => d.device))
}
