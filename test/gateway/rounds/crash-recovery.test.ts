// A gateway killed with kill -9 at each lifecycle state, then restarted, finishes the round with
// no update lost or counted twice and the same model hash as an uninterrupted run.
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { DEVICES } from './fixtures/round-fleet.js'

const script = fileURLToPath(new URL('./fixtures/gateway-process.ts', import.meta.url))

interface Outcome {
  killed: boolean
  done?: { model: string; accepted: number; stored: number; state: string; record: string }
  seen: string[]
}

/** Runs the gateway process, answering every checkpoint, and kills it -9 at `killAt`. */
function runGateway(dataDir: string, killAt?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import=tsx', script, dataDir], { stdio: ['pipe', 'pipe', 'inherit'] })
    const outcome: Outcome = { killed: false, seen: [] }
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('AT ')) {
        const label = line.slice(3)
        outcome.seen.push(label)
        if (label === killAt) {
          outcome.killed = true
          child.kill('SIGKILL')
        } else child.stdin.write('go\n')
      } else if (line.startsWith('DONE ')) {
        const [, model = '', accepted = '0', stored = '0', state = '', record = ''] = line.split(' ')
        outcome.done = { model, accepted: Number(accepted), stored: Number(stored), state, record }
      }
    })
    child.on('error', reject)
    child.on('exit', () => {
      clearTimeout(timer)
      resolve(outcome)
    })
  })
}

const root = await mkdtemp(join(tmpdir(), 'cw-rounds-'))
t.teardown(() => rm(root, { recursive: true, force: true }))

const reference = await runGateway(join(root, 'reference'))
t.equal(reference.done?.state, 'done', 'an uninterrupted round finishes')
t.equal(reference.done?.accepted, DEVICES, `${DEVICES} updates accepted`)
t.match(reference.done?.model ?? '', /^0x[0-9a-f]{64}$/, 'and yields a new model hash')
t.same(reference.seen.filter((s) => !s.includes(':')), ['open', 'collecting', 'aggregating', 'settling', 'done'], 'it passes through every state in order')

const crashPoints = ['open', 'collecting', 'collecting:2', 'aggregating', 'settling']
for (const point of crashPoints) {
  t.test(`killed -9 at ${point}`, async (t) => {
    const dir = join(root, point.replace(':', '-'))
    const first = await runGateway(dir, point)
    t.ok(first.killed, `killed at ${point}`)
    t.notOk(first.done, 'it did not finish')
    const second = await runGateway(dir)
    t.equal(second.done?.state, 'done', 'the restarted gateway finishes the round')
    t.equal(second.done?.accepted, DEVICES, 'every update counted exactly once')
    t.equal(second.done?.stored, DEVICES, 'and stored exactly once')
    t.equal(second.done?.model, reference.done?.model, 'the same model hash as the uninterrupted run')
    t.equal(second.done?.record, reference.done?.record, 'and the same round record')
  })
}
