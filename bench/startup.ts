// Start-up benchmark of the `cw` bin. Prints a table and writes bench/results/startup.json. Each
// row is the median wall time of a fresh process, as a ratio to a bare `node -e 0` measured in the
// same run (the goals: `cw --version` and `cw <command> --help` ≤ 5×, `cw agent status` ≤ 10×).
// The bin runs the compiled build (CW_RUNTIME=dist, `npm run build` first, done here) with plain
// Node, as a board does; the `source` rows run the TypeScript through tsx, as before the build.
// `agent status` reads a device.json that its schema refuses: the command loads everything it
// needs to read a bundle and a status (its implementation, zod, viem), then exits 1.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { printTable, withRatios, writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const RUNS = quick ? 7 : 21
const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'bin', 'cw.js')
const dir = mkdtempSync(join(tmpdir(), 'cw-bench-startup-'))
const deviceJson = join(dir, 'device.json')
writeFileSync(deviceJson, '{}')

const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' })
if (built.status !== 0) throw new Error(`npm run build failed: ${built.stderr}`)

function medianMs(args: string[], env: Record<string, string>, expectStatus: number): number {
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    const result = spawnSync(process.execPath, args, { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8' })
    times.push(performance.now() - start)
    if (result.status !== expectStatus) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)] ?? Number.NaN
}

const BASE = 'node -e 0'
const dist = { CW_RUNTIME: 'dist' }
const source = { CW_RUNTIME: 'source' }
const cases: { name: string; args: string[]; env: Record<string, string>; status: number }[] = [
  { name: BASE, args: ['-e', '0'], env: {}, status: 0 },
  { name: 'cw --version', args: [bin, '--version'], env: dist, status: 0 },
  { name: 'cw agent --help', args: [bin, 'agent', '--help'], env: dist, status: 0 },
  { name: 'cw agent start --help', args: [bin, 'agent', 'start', '--help'], env: dist, status: 0 },
  { name: 'cw gateway start --help', args: [bin, 'gateway', 'start', '--help'], env: dist, status: 0 },
  { name: 'cw device enroll --help', args: [bin, 'device', 'enroll', '--help'], env: dist, status: 0 },
  { name: 'cw agent status', args: [bin, 'agent', 'status', '--config', deviceJson], env: dist, status: 1 },
  { name: 'source: cw --version', args: [bin, '--version'], env: source, status: 0 },
  { name: 'source: cw agent status', args: [bin, 'agent', 'status', '--config', deviceJson], env: source, status: 1 },
]

const rows: Row[] = []
try {
  for (const c of cases) rows.push({ group: 'startup', name: c.name, value: medianMs(c.args, c.env, c.status), unit: 'ms', ...(c.name === BASE ? {} : { baseline: BASE }) })
} finally {
  rmSync(dir, { recursive: true, force: true })
}
const withRatio = withRatios(rows)
printTable(`cw start-up: median of ${RUNS} fresh processes, Node ${process.version}`, withRatio)
console.log(`\nwritten ${writeResults('startup', withRatio, { runs: RUNS })}`)
