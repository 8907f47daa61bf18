// The agent daemon in a running fleet: the demo fleet (`cw demo`: embedded chain served on
// 127.0.0.1, one gateway and N agents as separate `cw` processes) is run for N = 3, 10 and 25, and
// this prints a table and writes bench/results/agent.json with:
//   - each agent's peak resident memory while idle with its model loaded, and during rounds
//     (training), against a bare Node process measured in the same run;
//   - the time from an agent's process start to ready (genesis model loaded, samples in), against
//     the start of a bare `cw --version` process measured in the same run;
//   - the end-to-end round time (start → aggregated, evaluated and settled), against N = 3.
//   npx tsx bench/agent.ts [--quick]     (--quick runs N = 3 only)
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { runDemo, type DemoResult } from '../cli/demo/run-demo.js'
import { ProcessGroup } from '../cli/demo/processes.js'
import { printTable, withRatios, writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const SIZES = quick ? [3] : [3, 10, 25]
const ROUNDS = 2
const MiB = 1024 * 1024

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
const max = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : Math.max(...xs))

/** Peak VmRSS of a bare Node process that loads nothing, sampled for a second. */
async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  let peak = 0
  try {
    for (let i = 0; i < 20; i++) {
      await sleep(50)
      const text = await readFile(`/proc/${child.pid ?? 0}/status`, 'utf8').catch(() => '')
      const kib = /^VmRSS:\s+(\d+) kB$/m.exec(text)?.[1]
      if (kib !== undefined) peak = Math.max(peak, Number(kib) * 1024)
    }
  } finally {
    child.kill('SIGKILL')
  }
  return peak
}

/** Median wall time of `cw --version` (the same entry point and TypeScript loading as an agent). */
async function cliStartMs(runs = 3): Promise<number> {
  const group = new ProcessGroup()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    const r = await group.run(['--version'], { timeoutMs: 60_000 })
    if (r.code !== 0) throw new Error(`cw --version failed: ${r.stderr}`)
    times.push(performance.now() - start)
  }
  await group.stopAll()
  return median(times)
}

const rows: Row[] = []
const runs: Record<string, DemoResult['timings']> = {}
const bareRss = await bareNodeRss()
const cliMs = await cliStartMs()
rows.push({ group: 'baseline', name: 'bare node process RSS', value: bareRss / MiB, unit: 'MiB' })
rows.push({ group: 'baseline', name: 'cw --version wall time', value: cliMs, unit: 'ms' })

for (const n of SIZES) {
  process.stderr.write(`fleet of ${n} agents, ${ROUNDS} rounds…\n`)
  const result = await runDemo({ devices: n, rounds: ROUNDS, roundSeconds: 600, keep: false, print: (line) => process.stderr.write(`  ${line}\n`) })
  if (!result.ok) throw new Error(`the fleet of ${n} did not finish cleanly; logs in ${result.dataDir}/logs`)
  const t = result.timings
  runs[String(n)] = t
  const g = `N=${n}`
  if (t.agentRss.idle.length > 0) {
    rows.push({ group: 'memory', name: `${g} agent RSS idle, median`, value: median(t.agentRss.idle) / MiB, unit: 'MiB', baseline: 'bare node process RSS' })
    rows.push({ group: 'memory', name: `${g} agent RSS idle, max`, value: max(t.agentRss.idle) / MiB, unit: 'MiB', baseline: 'bare node process RSS' })
    rows.push({ group: 'memory', name: `${g} agent RSS training, median`, value: median(t.agentRss.rounds) / MiB, unit: 'MiB', baseline: 'bare node process RSS' })
    rows.push({ group: 'memory', name: `${g} agent RSS training, max`, value: max(t.agentRss.rounds) / MiB, unit: 'MiB', baseline: 'bare node process RSS' })
  }
  rows.push({ group: 'start', name: `${g} process start to ready, median`, value: median(t.agentReadyMs), unit: 'ms', baseline: 'cw --version wall time' })
  rows.push({ group: 'start', name: `${g} process start to ready, max`, value: max(t.agentReadyMs), unit: 'ms', baseline: 'cw --version wall time' })
  rows.push({ group: 'round', name: `N=${n} round time, mean of ${ROUNDS}`, value: t.roundMs.reduce((a, b) => a + b, 0) / t.roundMs.length, unit: 'ms', baseline: `N=${SIZES[0]} round time, mean of ${ROUNDS}` })
  rows.push({ group: 'round', name: `N=${n} final validation accuracy`, value: 100 * (result.rounds.at(-1)?.accuracy ?? Number.NaN), unit: '%' })
}

// Baseline rows live in their own group; ratios are taken against them by name.
const byName = new Map(rows.map((r) => [r.name, r]))
const finished = withRatios(rows).map((r) => {
  if (r.baseline === undefined || r.ratio !== undefined) return r
  const base = byName.get(r.baseline)
  return base === undefined ? r : { ...r, ratio: r.value / base.value }
})
printTable(`Agent daemon in a demo fleet (${ROUNDS} rounds per fleet; memory from /proc VmRSS, sampled every 200 ms)`, finished)
const file = writeResults('agent', finished, { quick, sizes: SIZES, rounds: ROUNDS, runs })
console.log(`\nwrote ${file}`)
