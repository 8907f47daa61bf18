// "Running a real fleet" in the README, walked as a new operator walks it: every step is a separate
// `cw` process started from a directory outside the repository, with nothing but what the README
// names — a served chain (`cw chain serve`), the owner key in a SoftHSM2 token, a gateway key and a
// device key in file key stores (`cw key generate`), gas from `cw chain fund`, the gateway's peer id
// before its first start (`cw gateway init`), `cw fleet init`, `cw device request` / `cw device
// enroll`, the daemons (`cw gateway start`, `cw agent start`), one round on demand, then the
// device's own `cw rewards claim` and `cw audit round` against the chain. Only the data (digits
// shards, a validation set) and the SoftHSM2 token are made in this process.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { digitsReplaySensor, splitDigits, writeDigitsCsv, DIGITS_PIXEL_MAX } from '../../cli/demo/digits-shards.js'
import { createSoftHsm } from '../hardware/keys/softhsm.js'
import { ENV, FAST_SCRYPT, PASSWORD_ENV, PIN, PIN_ENV, PROFILE, tempDir } from '../provisioning/helpers.js'
import { CW_BIN, runCw, type Run } from '../helpers/run-cw.js'

t.setTimeout(600_000)
const dir = await tempDir(t, 'operator-walk')
const hsm = await createSoftHsm(t)
await hsm.initToken('owner', PIN)
const env = { ...process.env, ...ENV, SOFTHSM2_CONF: hsm.config }
const cw = (...args: string[]): Promise<Run> => runCw(args, { cwd: dir, env })
const json = <T>(r: Run): T => JSON.parse(r.stdout) as T
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]
const ok = (t: Tap, r: Run, what: string): void => {
  t.equal(r.code, 0, `${what}: ${r.stderr.split('\n').slice(0, 3).join(' ')}`)
}

/** A long-running `cw` process, its output in a log file of the walk's directory. */
const daemons: ChildProcess[] = []
const daemonNames: string[] = []
function daemon(name: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [CW_BIN, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const log = createWriteStream(join(dir, `${name}.log`))
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  daemons.push(child)
  daemonNames.push(name)
  return child
}
t.teardown(async () => {
  for (const child of daemons) child.kill('SIGTERM')
  await Promise.all(daemons.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((resolve) => c.once('exit', resolve)))))
})

/** The last lines of every daemon's log, for a failure message. */
async function logTails(): Promise<string> {
  const tails = await Promise.all(
    daemonNames.map(async (name) => `--- ${name}.log\n${(await readFile(join(dir, `${name}.log`), 'utf8').catch(() => '')).split('\n').slice(-15).join('\n')}`),
  )
  return tails.join('\n')
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000} s\n${await logTails()}`)
    await sleep(500)
  }
}

const DEVICES = 2
let rpcUrl = ''
let owner = ''
let gateway = { address: '', peerId: '', multiaddrs: [] as string[] }
const bundles: string[] = []

t.test('1. a chain: cw chain serve, and the owner key made in its SoftHSM2 token and funded', async (t) => {
  const chain = daemon('chain', ['chain', 'serve', '--port', '0', '--json'])
  // It prints its endpoint as JSON (several lines), then serves until stopped.
  const endpoint = await new Promise<{ url: string }>((resolve, reject) => {
    let text = ''
    chain.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      try {
        resolve(JSON.parse(text) as { url: string })
      } catch {
        // not all of it yet
      }
    })
    chain.once('exit', (code) => reject(new Error(`cw chain serve exited ${code}`)))
  })
  rpcUrl = endpoint.url
  t.match(rpcUrl, /^http:\/\/127\.0\.0\.1:\d+/)
  await writeFile(join(dir, 'owner-key.json'), JSON.stringify({ kind: 'pkcs11', module: hsm.module, token: { label: 'owner' }, pin: { env: PIN_ENV } }))
  const made = await cw('key', 'generate', '--key-store', 'owner-key.json', '--label', 'owner', '--json')
  ok(t, made, 'cw key generate (pkcs11)')
  owner = json<{ address: string; kind: string }>(made).address
  t.match(json(made), { kind: 'pkcs11' })
  const shown = await cw('key', 'address', '--key-store', 'owner-key.json', '--label', 'owner')
  t.equal(shown.stdout.trim(), owner, 'cw key address prints the same address')
  ok(t, await cw('chain', 'fund', owner, '--rpc-url', rpcUrl, '--amount', '10'), 'cw chain fund owner')
})

t.test('2. a gateway: its key and peer id before its first start', async (t) => {
  await writeFile(
    join(dir, 'gateway-key.json'),
    JSON.stringify({ kind: 'file', directory: 'gateway-keys', password: { env: PASSWORD_ENV }, scrypt: FAST_SCRYPT }),
  )
  const split = splitDigits(DEVICES, { seed: 7 })
  await writeDigitsCsv(join(dir, 'validation.csv'), split.validation, DIGITS_PIXEL_MAX)
  for (let i = 0; i < DEVICES; i++) {
    await mkdir(join(dir, `device-${i + 1}`), { recursive: true })
    await writeDigitsCsv(join(dir, `device-${i + 1}`, 'shard.csv'), split.shards[i] ?? [])
  }
  const port = await freePort()
  await writeFile(
    join(dir, 'gateway.json'),
    JSON.stringify({
      version: 1,
      fleetFile: 'fleet.json',
      dataDir: 'gateway-data',
      keyStore: { kind: 'file', directory: 'gateway-keys', password: { env: PASSWORD_ENV }, scrypt: FAST_SCRYPT },
      keyLabel: 'gateway',
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
      model: { initial: { mlp: { inputs: 64, hidden: [32], outputs: 10, seed: 1 } } },
      validation: { csv: 'validation.csv', labelColumn: 'label' },
      rounds: {
        config: { durationSeconds: 120, selection: { fraction: 1, min: 1, max: DEVICES }, strategy: { name: 'fedavg' } },
        rewardTotal: '1000000',
        evaluationMargin: 0.05,
        reannounceSeconds: 2,
        schedule: { mode: 'manual' },
      },
    }),
  )
  const init = await cw('gateway', 'init', '--config', 'gateway.json', '--generate-key', '--json')
  ok(t, init, 'cw gateway init')
  gateway = json(init)
  t.match(gateway.multiaddrs[0], new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/${port}/p2p/${gateway.peerId}$`), 'the multiaddr names the peer id')
  const again = await cw('gateway', 'init', '--config', 'gateway.json', '--json')
  t.equal(json<{ peerId: string }>(again).peerId, gateway.peerId, 'a second init keeps the transport key')
  ok(t, await cw('chain', 'fund', gateway.address, '--rpc-url', rpcUrl, '--amount', '10'), 'cw chain fund gateway')
})

t.test('3. the fleet: a gateway multiaddr without its peer id is refused, then cw fleet init', async (t) => {
  const base = ['fleet', 'init', '--owner-key', 'owner-key.json', '--rpc-url', rpcUrl, '--chain-id', '31337', '--name', 'walk', '--no-progress']
  const bare = gateway.multiaddrs[0]?.replace(/\/p2p\/.*$/, '') ?? ''
  const refused = await cw(...base, '--gateway', `${gateway.address}=${bare}`)
  t.not(refused.code, 0)
  t.match(refused.stderr.trim(), /^error CW_[A-Z_]+: .*\/p2p\//, 'one error line that names the fix')
  t.equal(refused.stderr.trim().split('\n').length, 1)
  const made = await cw(...base, '--gateway', `${gateway.address}=${gateway.multiaddrs.join(',')}`, '--json')
  ok(t, made, 'cw fleet init')
  const shown = await cw('fleet', 'show', '--json')
  ok(t, shown, 'cw fleet show')
  t.match(shown.stdout, new RegExp(gateway.address, 'i'), 'the gateway is authorised on chain')
})

t.test('4. devices: a request on each device, the owner enrols it, the device funds its claims', async (t) => {
  await writeFile(join(dir, 'hardware.json'), JSON.stringify(PROFILE))
  for (let i = 0; i < DEVICES; i++) {
    const d = `device-${i + 1}`
    await writeFile(join(dir, d, 'device-key.json'), JSON.stringify({ kind: 'file', directory: 'keys', password: { env: PASSWORD_ENV }, scrypt: FAST_SCRYPT }))
    await writeFile(join(dir, d, 'sensors.json'), JSON.stringify([digitsReplaySensor(join(dir, d, 'shard.csv'), 200)]))
    const request = await cw('device', 'request', '--key-store', `${d}/device-key.json`, '--transport-dir', `${d}/transport`, '--serial', `SN-${i + 1}`, '--hardware', 'hardware.json', '--out', `${d}/request.req`)
    ok(t, request, `cw device request ${d}`)
    const bundle = `${d}/device.json`
    const enrolled = await cw('device', 'enroll', `${d}/request.req`, '--owner-key', 'owner-key.json', '--out', bundle, '--sensors', `${d}/sensors.json`, '--no-progress', '--json')
    ok(t, enrolled, `cw device enroll ${d}`)
    // The owner says how the agent trains: the bundle's `agent` section (docs/configuration.md).
    const written = JSON.parse(await readFile(join(dir, bundle), 'utf8')) as Record<string, unknown>
    t.match(written.bootstrap, gateway.multiaddrs, 'the bundle dials the gateway by its peer id')
    written.agent = { dataDir: 'agent-data', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, engine: 'onnxruntime-web', training: { epochs: 3, batchSize: 16, learningRate: 0.1, minSamples: 8, threads: 1 } }
    await writeFile(join(dir, bundle), JSON.stringify(written, null, 2))
    bundles.push(bundle)
  }
  const listed = await cw('device', 'ls', '--json')
  ok(t, listed, 'cw device ls')
  t.equal((listed.stdout.match(/"active"/g) ?? []).length, DEVICES, 'every device active')
})

t.test('5. the daemons: a gateway and an agent per device, one round on demand, settled', async (t) => {
  daemon('gateway', ['gateway', 'start', '--config', 'gateway.json'])
  await until('the gateway answers cw gateway status', 120_000, async () => {
    const s = await cw('gateway', 'status', '--config', 'gateway.json', '--json')
    return s.code === 0 && json<{ running: boolean }>(s).running ? true : undefined
  })
  for (const [i, bundle] of bundles.entries()) daemon(`agent-${i + 1}`, ['agent', 'start', '--config', bundle])
  for (const bundle of bundles) {
    await until(`${bundle}: agent ready with samples`, 180_000, async () => {
      const s = await cw('agent', 'status', '--config', bundle, '--json')
      if (s.code !== 0) return undefined
      const status = json<{ running: boolean; model: string | null; samples: number; mesh: { peers: number } }>(s)
      return status.running && status.model !== null && status.samples >= 8 && status.mesh.peers > 0 ? true : undefined
    })
  }
  const human = await cw('agent', 'status', '--config', bundles[0] ?? '')
  t.match(human.stdout, /running/, 'cw agent status for people')
  const started = await cw('gateway', 'round', 'start', '--config', 'gateway.json', '--json')
  ok(t, started, 'cw gateway round start')
  t.equal(json<{ round: number }>(started).round, 1)
  const done = await until('round 1 settled', 240_000, async () => {
    const s = await cw('gateway', 'status', '--config', 'gateway.json', '--json')
    const round = s.code === 0 ? json<{ rounds: { round: number; state: string; accepted: number; settlement: string | null }[] }>(s).rounds.find((r) => r.round === 1) : undefined
    return round?.state === 'done' ? round : undefined
  })
  t.equal(done.accepted, DEVICES, 'every device contributed')
  t.equal(done.settlement, 'settled')
})

t.test('6. devices claim with their own key, and anyone audits from the published records', async (t) => {
  const published = 'gateway-data/published'
  for (const bundle of bundles) {
    const device = JSON.parse(await readFile(join(dir, bundle), 'utf8')) as { device: string }
    ok(t, await cw('chain', 'fund', device.device, '--rpc-url', rpcUrl, '--amount', '1'), `fund ${bundle}`)
    const claim = await cw('rewards', 'claim', '--config', bundle, '--records', published, '--json')
    ok(t, claim, `cw rewards claim ${bundle}`)
    t.not(json<{ amount: string }>(claim).amount, '0', 'a reward was paid')
    const again = await cw('rewards', 'claim', '--config', bundle, '--records', published, '--json')
    ok(t, again, 'a second claim is not an error')
    t.equal(json<{ amount: string }>(again).amount, '0', 'and pays nothing twice')
  }
  const audit = await cw('audit', 'round', '1', '--fleet', 'fleet.json', '--blobs', published)
  ok(t, audit, 'cw audit round 1 --fleet')
  t.notMatch(audit.stdout, /MISMATCH/)
  const genesis = await cw('audit', 'round', '0', '--fleet', 'fleet.json', '--blobs', published, '--json')
  ok(t, genesis, 'cw audit round 0')
  t.match(genesis.stdout, /genesis/)
  const unsettled = await cw('audit', 'round', '2', '--fleet', 'fleet.json', '--blobs', published)
  t.equal(unsettled.code, 6, 'a round not settled yet: exit 6, not the 1 of a mismatch')
})

t.test('7. the agent shows the round, and with the gateway stopped its status is the offline view', async (t) => {
  const agent = await cw('agent', 'status', '--config', bundles[0] ?? '', '--json')
  ok(t, agent, 'cw agent status')
  const status = json<{ modelRound: string | null; rounds: { round: string }[] }>(agent)
  t.ok(status.rounds.some((r) => r.round === '1'), 'round 1 in the agent\'s rounds')
  const gatewayProcess = daemons[daemonNames.indexOf('gateway')]
  gatewayProcess?.kill('SIGTERM')
  await new Promise((resolve) => (gatewayProcess?.exitCode !== null ? resolve(undefined) : gatewayProcess.once('exit', resolve)))
  const offline = await cw('gateway', 'status', '--config', 'gateway.json', '--json')
  ok(t, offline, 'cw gateway status with no daemon')
  const view = json<{ running: boolean; rounds: { round: number; settlementTx: string | null }[] }>(offline)
  t.equal(view.running, false)
  t.match(view.rounds.find((r) => r.round === 1), { settlementTx: /^0x[0-9a-f]{64}$/ }, 'round 1 and its settlement, from the data directory')
})
