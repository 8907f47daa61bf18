// `cw audit round <n> --record <file|hash> --blobs <dir>`: audits a round from its record and the
// blobs it references (parent model, updates, optimiser state), each kept in <dir> as a file named
// by its sha256 (0x-prefixed hex, optionally with a .bin extension).
import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command } from 'commander'
import type { Hex } from 'viem'
import { auditRound } from '../../protocols/index.js'
import { EXIT, toJson } from '../output.js'
import { UsageError } from './decode.js'

const HASH = /^0x[0-9a-fA-F]{64}$/

async function readBlob(dir: string, hash: Hex): Promise<Uint8Array | undefined> {
  for (const name of [hash.toLowerCase(), `${hash.toLowerCase()}.bin`, hash.slice(2).toLowerCase()]) {
    const path = join(dir, name)
    try {
      await access(path)
    } catch {
      continue
    }
    return readFile(path)
  }
  return undefined
}

interface AuditOptions {
  record: string
  blobs: string
  json?: boolean
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('audit from public data')
  audit
    .command('round')
    .description('re-verify every signature of a round and recompute its aggregate, scores and Merkle root from its record')
    .argument('<n>', 'the round number')
    .requiredOption('--record <file|hash>', 'the round record: a file, or its sha256 to look up in --blobs')
    .requiredOption('--blobs <dir>', 'directory of blobs named by sha256: parent model, updates, optimiser state')
    .option('--json', 'print the report as JSON')
    .action(async (n: string, options: AuditOptions) => {
      if (!/^\d+$/.test(n)) throw new UsageError(`round ${JSON.stringify(n)} is not a number`)
      const recordBytes = HASH.test(options.record) ? await readBlob(options.blobs, options.record as Hex) : await readFile(options.record)
      if (recordBytes === undefined) throw new UsageError(`no blob ${options.record} in ${options.blobs}`)
      const report = await auditRound(recordBytes, (hash) => readBlob(options.blobs, hash))
      const roundMatches = report.round === BigInt(n)
      const items = [...report.items, ...(report.round === undefined ? [] : [{ item: 'round number', ok: roundMatches, detail: `record holds round ${report.round}` }])]
      const ok = report.ok && roundMatches
      if (options.json === true) console.log(toJson({ ok, recordHash: report.recordHash, items }))
      else {
        for (const i of items) console.log(`${i.ok ? 'match   ' : 'MISMATCH'}  ${i.item}: ${i.detail}`)
        console.log(ok ? `round ${n}: every item matches (record ${report.recordHash})` : `round ${n}: ${items.filter((i) => !i.ok).length} item(s) do not match`)
      }
      if (!ok) process.exitCode = EXIT.rejected
    })
}
