// `cw demo` (also `npm start`): a whole fleet at work on one machine, then its results.
// This is the implementation, loaded when the command runs; cli/commands/demo.ts defines its options.
import { BaseError } from '../../protocols/index.js'
import { runDemo, type DemoResult } from '../demo/run-demo.js'
import { integer } from '../arguments.js'
import { EXIT, toJson } from '../output.js'

export interface DemoCliOptions {
  devices: string
  rounds: string
  dataDir?: string
  keep?: boolean
  roundSeconds: string
  json?: boolean
}

const pct = (v: number | null): string => (v === null ? '–' : `${(v * 100).toFixed(1)}%`)
const short = (h: string | null): string => (h === null ? '–' : `${h.slice(0, 10)}…${h.slice(-6)}`)

function printSummary(result: DemoResult): void {
  const out = (line = ''): void => console.log(line)
  out()
  out('Validation accuracy per round')
  out(`  round  0  ${pct(result.genesisAccuracy).padStart(6)}  (genesis model)`)
  for (const r of result.rounds)
    out(`  round ${r.round.padStart(2)}  ${pct(r.accuracy).padStart(6)}  ${r.accepted}/${r.participants} updates${r.keptParent ? '  kept the parent model' : ''}`)
  out()
  out('Devices')
  out(`  ${'device'.padEnd(42)} ${'samples'.padStart(7)} ${'score'.padStart(9)} ${'reward'.padStart(9)} ${'claimed'.padStart(9)}`)
  for (const d of result.devices)
    out(`  ${d.device.padEnd(42)} ${String(d.samples).padStart(7)} ${d.score.padStart(9)} ${d.reward.padStart(9)} ${(d.claimOk ? d.claimed : 'FAILED').padStart(9)}`)
  out()
  out('On chain')
  for (const r of result.rounds)
    out(`  round ${r.round.padStart(2)}  ${r.settledOnChain ? 'settled' : 'NOT SETTLED'}  model ${short(r.chainModel)}  root ${short(r.chainRoot)}  record ${short(r.recordHash)}`)
  out()
  out('Audit (cw audit round <n>)')
  for (const r of result.rounds) out(`  round ${r.round.padStart(2)}  ${r.audit}`)
  out()
  out(result.ok ? `all ${result.rounds.length} rounds settled and audited, every claim paid; data in ${result.dataDir}` : `the demo FAILED; logs in ${result.dataDir}/logs`)
}

export async function demoCommand(options: DemoCliOptions): Promise<void> {
  const json = options.json === true
  const abort = new AbortController()
  const onSignal = (): void => abort.abort(new Error('interrupted'))
  if (options.keep !== true) {
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  }
  let result: DemoResult
  try {
    result = await runDemo({
      devices: integer('--devices', options.devices, 1, 50),
      rounds: integer('--rounds', options.rounds, 1, 1000),
      roundSeconds: integer('--round-seconds', options.roundSeconds, 5, 3600),
      keep: options.keep === true,
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      print: (line) => (json ? process.stderr : process.stdout).write(`${line}\n`),
      signal: abort.signal,
    })
  } catch (err) {
    // A step that failed has said which, and where its log is; typed errors keep their code.
    if (err instanceof BaseError) throw err
    console.error(`error: the demo failed: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = EXIT.rejected
    return
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  if (json) console.log(toJson(result))
  else printSummary(result)
  if (!result.ok) process.exitCode = EXIT.rejected
}
