// `cw audit round <n> --blobs <dir> [--record <file|hash>] [--fleet <fleet.json>]`: audits a round
// from its record and the blobs it references (parent model, updates, optimiser state), each kept
// in <dir> as a file named by its sha256 (0x-prefixed hex, optionally with a .bin extension).
// With --fleet it audits against the chain too: the record is the one whose hash the round's
// settlement holds (unless --record names one), and the recomputed contributions root and new
// model, the parent model, reward total, fleet and record hash are compared with the settlement,
// and the participant selection is recomputed from the registry at the announced block.
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { createPublicClient, http, type Client, type Hex } from 'viem'
import { auditRound, contentId, readRoundSettlement, type AuditItem, type AuditReport, type FleetFile, type RoundSettlementOnChain } from '../../protocols/index.js'
import { readFleetFile } from '../../hardware/index.js'
import { RPC_TIMEOUT_MS } from '../../gateway/settlement/index.js'
import { EXIT, toJson } from '../output.js'
import { HASH, readBlob } from './blob-directory.js'
import { UsageError } from './decode.js'

interface AuditOptions {
  record?: string
  blobs: string
  fleet?: string
  rpc?: string
  json?: boolean
}

const same = (a: string | bigint, b: string | bigint): boolean => String(a).toLowerCase() === String(b).toLowerCase()

/** The items that compare what the audit established with the round's settlement on chain. */
function chainItems(report: AuditReport, recordHash: Hex, onChain: RoundSettlementOnChain): AuditItem[] {
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
  compare('chain: contributions root', report.recomputed?.contributionsRoot, onChain.contributionsRoot, 'recomputed')
  compare('chain: reward total', record.rewardTotal, onChain.rewardTotal, 'recorded')
  return items
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('audit from public data')
  audit
    .command('round')
    .description('re-verify every signature of a round and recompute its aggregate, scores and Merkle root from its record; with --fleet, compare them with its settlement on chain and recompute its participant selection')
    .argument('<n>', 'the round number')
    .option('--record <file|hash>', 'the round record: a file, or its sha256 to look up in --blobs (default with --fleet: the record hash settled on chain)')
    .requiredOption('--blobs <dir>', 'directory of blobs named by sha256: parent model, updates, optimiser state, records')
    .option('--fleet <fleet.json>', "the fleet file: audit against its chain's settlement of the round")
    .option('--rpc <url>', "JSON-RPC URL of the chain (default: the fleet file's chain.rpcUrl)")
    .option('--json', 'print the report as JSON')
    .action(async (n: string, options: AuditOptions) => {
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
      if (recordBytes !== undefined) {
        const report = await auditRound(recordBytes, (hash) => readBlob(options.blobs, hash))
        recordHash = report.recordHash
        items.push(...report.items)
        if (report.round !== undefined) items.push({ item: 'round number', ok: report.round === round, detail: `record holds round ${report.round}` })
        if (onChain !== undefined) items.push(...chainItems(report, contentId(recordBytes), onChain))
        if (chain !== undefined && report.record !== undefined) {
          const { selectionItems } = await import('./audit-selection.js')
          items.push(...(await selectionItems(chain.client, chain.fleet, report.record)))
        }
      }
      const ok = items.length > 0 && items.every((i) => i.ok)
      if (options.json === true) console.log(toJson({ ok, round, recordHash: recordHash ?? null, ...(onChain === undefined ? {} : { settlement: onChain }), items }))
      else {
        for (const i of items) console.log(`${i.ok ? 'match   ' : 'MISMATCH'}  ${i.item}: ${i.detail}`)
        console.log(ok ? `round ${n}: every item matches (record ${recordHash})` : `round ${n}: ${items.filter((i) => !i.ok).length} item(s) do not match`)
      }
      if (!ok) process.exitCode = EXIT.rejected
    })
}
