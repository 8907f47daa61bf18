// The demo fleet as a user runs it: `cw demo --devices 3 --rounds 3`, every part a real process
// (embedded chain served on 127.0.0.1, one gateway, three agents, claims and audits). Checks that
// accuracy rises, every round is settled on chain, every claim is paid, every audit passes, and
// that no process is left behind.
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const CW = fileURLToPath(new URL('../../bin/cw.js', import.meta.url))
const dataDir = await mkdtemp(join(tmpdir(), 'cw-demo-e2e-'))
t.teardown(() => rm(dataDir, { recursive: true, force: true }))

/** Processes whose command line mentions `needle` (the demo's data directory). */
async function processesMentioning(needle: string): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ')
      if (cmdline.includes(needle)) found.push(Number(entry))
    } catch {
      /* gone already */
    }
  }
  return found
}

interface DemoJson {
  ok: boolean
  genesisAccuracy: number | null
  rounds: { round: string; accuracy: number | null; settledOnChain: boolean; chainModel: string | null; newModel: string | null; audit: string; accepted: number }[]
  devices: { device: string; claimOk: boolean; claimed: string; samples: number }[]
  leftover: number[]
}

const started = Date.now()
const child = spawn(process.execPath, [CW, 'demo', '--devices', '3', '--rounds', '3', '--round-seconds', '60', '--data-dir', dataDir, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
let stdout = ''
let stderr = ''
child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')))
child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
const timer = setTimeout(() => child.kill('SIGINT'), 280_000)
const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
clearTimeout(timer)
const leftBehind = await processesMentioning(dataDir)
t.comment(`demo took ${((Date.now() - started) / 1000).toFixed(1)} s`)
t.comment(stderr.trim().split('\n').slice(-20).join('\n'))

t.equal(code, 0, 'the demo exits 0')
let result: DemoJson | undefined
try {
  result = JSON.parse(stdout) as DemoJson
} catch {
  t.fail(`the demo printed no JSON summary: ${stdout.slice(0, 500)}`)
}
if (result !== undefined) {
  const r = result
  t.ok(r.ok, 'the demo reports success')
  t.equal(r.rounds.length, 3, 'three rounds ran')
  const accuracies = r.rounds.map((x) => x.accuracy ?? 0)
  t.comment(`accuracy: genesis ${r.genesisAccuracy}, rounds ${accuracies.join(', ')}`)
  t.ok(r.genesisAccuracy !== null && (accuracies.at(-1) ?? 0) > r.genesisAccuracy, 'validation accuracy rises from the genesis model')
  for (const round of r.rounds) {
    t.ok(round.settledOnChain, `round ${round.round} is settled on chain`)
    t.equal(round.chainModel, round.newModel, `round ${round.round}: the chain holds the gateway's new model`)
    t.equal(round.audit, 'pass', `round ${round.round}: cw audit passes`)
    t.ok(round.accepted >= 1, `round ${round.round} accepted updates`)
  }
  t.equal(r.devices.length, 3)
  for (const d of r.devices) {
    t.ok(d.claimOk, `${d.device} claimed`)
    t.ok(BigInt(d.claimed) > 0n, `${d.device} received a reward`)
  }
  t.same(r.leftover, [], 'the demo reports no process left')
}
t.same(leftBehind, [], 'no process is left behind')
