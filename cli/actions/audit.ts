// `cw audit round <n> --blobs <dir> [--record <file|hash>] [--fleet <fleet.json>]`: audits a round
// from its record and the blobs it references (parent model, updates, optimiser state), each kept
// in <dir> as a file named by its sha256 (0x-prefixed hex, optionally with a .bin extension).
// With --fleet it audits against the chain too: the record is the one whose hash the round's
// settlement holds (unless --record names one), and the recomputed contributions root and new
// model, the parent model, reward total, fleet and record hash are compared with the settlement.
// This is the implementation, loaded when the command runs; cli/commands/audit.ts defines its options.
import { readFile } from 'node:fs/promises'
import { createPublicClient, http, type Client, type Hex } from 'viem'
import { auditRound, contentId, readRoundSettlement, rebuildCumulativeRewards, type AuditItem, type AuditReport, type FleetFile, type RoundSettlementOnChain } from '../../protocols/index.js'
import { readFleetFile } from '../../hardware/index.js'
import { RPC_TIMEOUT_MS } from '../../gateway/settlement/index.js'
import { GENESIS_RECORD_KIND } from '../../gateway/daemon/constants.js'
import { EXIT, toJson } from '../output.js'
import { HASH, readBlob } from '../commands/blob-directory.js'
import { UsageError } from '../usage-error.js'

export interface AuditOptions {
  record?: string
  blobs: string
  fleet?: string
  rpc?: string
  json?: boolean
}

const same = (a: string | bigint, b: string | bigint): boolean => String(a).toLowerCase() === String(b).toLowerCase()

/** The items that compare what the audit established with the round's settlement on chain. */
function chainItems(report: AuditReport, recordHash: Hex, onChain: RoundSettlementOnChain, cumulative: boolean): AuditItem[] {
  const items: AuditItem[] = [
    { item: 'chain: record hash', ok: same(recordHash, onChain.recordHash), detail: `audited record ${recordHash}, settled ${onChain.recordHash}` },
  ]
  const record = report.record
  if (record === undefined) return items
  const compare = (item: string, value: string | bigint | undefined, settled: string | bigint, what: string) =>
    items.push(
      value === undefined
        ? { item, ok: false, detail: `not recomputed (see the items above); settled ${settled}` }
        : { item, ok: same(value, settled), detail: `${what} ${value}, settled ${settled}` },
    )
  compare('chain: fleet', record.fleet, onChain.fleet, 'recorded')
  compare('chain: parent model', record.parentModel, onChain.parentModel, 'recorded')
  compare('chain: new model', report.recomputed?.newModel, onChain.newModel, 'recomputed')
  // A cumulative fleet settles the root of its cumulative totals instead (cumulativeItem).
  if (!cumulative) compare('chain: contributions root', report.recomputed?.contributionsRoot, onChain.contributionsRoot, 'recomputed')
  compare('chain: reward total', record.rewardTotal, onChain.rewardTotal, 'recorded')
  return items
}

/**
 * A cumulative fleet's settled root for `round`, against the totals rebuilt from every settled
 * round's record up to it. The ledger sees a root only, so a gateway that settles a device's total
 * lower (or higher) than the records give is found here.
 */
async function cumulativeItem(client: Client, fleet: FleetFile, round: bigint, blobs: string): Promise<AuditItem> {
  const item = 'chain: cumulative rewards root'
  const rebuilt = await rebuildCumulativeRewards(client, {
    ledger: fleet.contracts.ledger,
    fromBlock: BigInt(fleet.contracts.deployedAt),
    throughRound: round,
    fetchRecord: (hash) => readBlob(blobs, hash),
  })
  const entry = rebuilt.rounds.find((r) => r.round === round)
  if (entry === undefined) return { item, ok: false, detail: `round ${round} is not settled` }
  const earlier = rebuilt.rounds.filter((r) => r.round < round && r.status === 'root-mismatch').map((r) => r.round)
  const note = earlier.length === 0 ? '' : `; earlier rounds with a root the records do not give: ${earlier.join(', ')}`
  if (entry.status === 'match') return { item, ok: true, detail: `settled ${entry.settledRoot}: the totals of ${rebuilt.totals.length} devices rebuilt from the records${note}` }
  return { item, ok: false, detail: `${entry.problem ?? entry.status}${note}` }
}

/** The genesis document settled as round 0 (the fleet's initial model), or undefined when the bytes are not one. */
function genesisOf(bytes: Uint8Array): { fleet: string; round: string; model: string } | undefined {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || (value as { kind?: unknown }).kind !== GENESIS_RECORD_KIND) return undefined
  const { fleet, round, model } = value as Record<string, unknown>
  return { fleet: String(fleet), round: String(round), model: String(model) }
}

/** Items for a genesis document: its own fields, and with a settlement, the settled values. */
function genesisItems(doc: { fleet: string; round: string; model: string }, recordHash: Hex, round: bigint, onChain: RoundSettlementOnChain | undefined): AuditItem[] {
  const items: AuditItem[] = [
    { item: 'genesis document', ok: HASH.test(doc.model) && HASH.test(doc.fleet), detail: `initial model ${doc.model} of fleet ${doc.fleet}` },
    { item: 'round number', ok: doc.round === round.toString(), detail: `genesis is round ${doc.round}` },
  ]
  if (onChain !== undefined)
    items.push(
      { item: 'chain: record hash', ok: same(recordHash, onChain.recordHash), detail: `audited document ${recordHash}, settled ${onChain.recordHash}` },
      { item: 'chain: fleet', ok: same(doc.fleet, onChain.fleet), detail: `recorded ${doc.fleet}, settled ${onChain.fleet}` },
      { item: 'chain: new model', ok: same(doc.model, onChain.newModel), detail: `initial model ${doc.model}, settled ${onChain.newModel}` },
    )
  return items
}

export async function auditRoundCommand(n: string, options: AuditOptions): Promise<void> {
  if (!/^\d{1,20}$/.test(n) || BigInt(n) >= 2n ** 64n) throw new UsageError(`round ${JSON.stringify(n)} is not a uint64`)
  if (options.fleet === undefined && options.record === undefined) throw new UsageError('name the record: --record <file|hash>, or --fleet <fleet.json> to take it from the chain')
  if (options.fleet === undefined && options.rpc !== undefined) throw new UsageError('--rpc needs --fleet')
  const round = BigInt(n)

  let onChain: RoundSettlementOnChain | undefined
  let chain: { client: Client; fleet: FleetFile } | undefined
  const items: AuditItem[] = []
  if (options.fleet !== undefined) {
    const fleet = await readFleetFile(options.fleet)
    const rpcUrl = options.rpc ?? fleet.chain.rpcUrl
    if (rpcUrl === undefined) throw new UsageError('the fleet file names no chain.rpcUrl: give --rpc <url>')
    const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 1, timeout: RPC_TIMEOUT_MS }) })
    chain = { client, fleet }
    const read = await readRoundSettlement(client, { ledger: fleet.contracts.ledger, round, fromBlock: BigInt(fleet.contracts.deployedAt) })
    if (read.settled) onChain = read
    items.push({
      item: 'chain: settled',
      ok: read.settled,
      detail: read.settled ? `by gateway ${read.gateway} in ${read.transactionHash} (block ${read.blockNumber})` : `round ${round} is not settled on ledger ${fleet.contracts.ledger}`,
    })
  }

  const recordRef = options.record ?? onChain?.recordHash
  let recordBytes: Uint8Array | undefined
  if (recordRef !== undefined) {
    recordBytes = HASH.test(recordRef) ? await readBlob(options.blobs, recordRef as Hex) : await readFile(recordRef)
    if (recordBytes === undefined) {
      if (options.record !== undefined) throw new UsageError(`no blob ${options.record} in ${options.blobs}`)
      items.push({ item: 'record', ok: false, detail: `the settled record ${recordRef} is not in ${options.blobs}` })
    }
  }
  let recordHash: Hex | undefined
  const genesis = recordBytes === undefined ? undefined : genesisOf(recordBytes)
  if (recordBytes !== undefined && genesis !== undefined) {
    recordHash = contentId(recordBytes)
    items.push(...genesisItems(genesis, recordHash, round, onChain))
  } else if (recordBytes !== undefined) {
    const report = await auditRound(recordBytes, (hash) => readBlob(options.blobs, hash))
    recordHash = report.recordHash
    items.push(...report.items)
    if (report.round !== undefined) items.push({ item: 'round number', ok: report.round === round, detail: `record holds round ${report.round}` })
    const cumulative = chain?.fleet.contracts.leaves === 'cumulative'
    if (onChain !== undefined) items.push(...chainItems(report, contentId(recordBytes), onChain, cumulative))
    if (onChain !== undefined && chain !== undefined && cumulative) items.push(await cumulativeItem(chain.client, chain.fleet, round, options.blobs))
    if (chain !== undefined && report.record !== undefined) {
      const { selectionItems } = await import('./audit-selection.js')
      items.push(...(await selectionItems(chain.client, chain.fleet, report.record)))
    }
  }
  const ok = items.length > 0 && items.every((i) => i.ok)
  // Not settled (yet) is not tampering: its own exit code when nothing else mismatches.
  const unsettled = !ok && items.every((i) => i.ok || i.item === 'chain: settled')
  const kind = genesis === undefined ? 'round' : 'genesis'
  if (options.json === true) console.log(toJson({ ok, round, kind, settled: options.fleet === undefined ? null : onChain !== undefined, recordHash: recordHash ?? null, ...(onChain === undefined ? {} : { settlement: onChain }), items }))
  else {
    for (const i of items) console.log(`${i.ok ? 'match   ' : i.item === 'chain: settled' ? 'UNSETTLED' : 'MISMATCH'}  ${i.item}: ${i.detail}`)
    const what = kind === 'genesis' ? `round ${n} (genesis: the fleet's initial model ${genesis?.model})` : `round ${n}`
    console.log(ok ? `${what}: every item matches (record ${recordHash})` : unsettled ? `${what}: not settled on chain (yet)` : `${what}: ${items.filter((i) => !i.ok).length} item(s) do not match`)
  }
  if (!ok) process.exitCode = unsettled ? EXIT.unsettled : EXIT.rejected
}
