// Crash recovery of the agent daemon, as real processes: `cw agent start` killed with SIGKILL
//   1. with a signed update still in its outbox (the gateway was down when it was queued): after
//      a restart the update is delivered to the restarted gateway, with the same attestation hash;
//   2. in the middle of training: after a restart it rejoins the round (re-announced by the
//      gateway) and its update is receipted; nothing is signed twice for a round.
// Then `cw agent status` reads the running agent's status, and SIGTERM stops it cleanly (exit 0).
// Real parts: the gateway daemon in this process, the embedded EVM over HTTP, libp2p on
// 127.0.0.1, LevelDB, ONNX Runtime and a replay sensor over a CSV.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { openFileKeyStore, writeFleetFile, writeJsonConfig } from '../../hardware/index.js'
import { readGatewayConfig, startGatewayDaemon, type GatewayDaemon, type GatewayStatus } from '../../gateway/daemon/index.js'
import { readAgentBundle, type AgentStatus, type RoundEntry } from '../../edge-agent/daemon/index.js'
import { fleetFileOf, logger, makeDevice, startTestChain, TEST_SCRYPT, until } from '../edge-agent/daemon/agent-fixture.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = await mkdtemp(join(tmpdir(), 'cw-agent-crash-'))

// The gateway: its key in a file key store, authorised on chain.
const gatewayDir = join(dir, 'gateway')
await mkdir(gatewayDir, { recursive: true })
await writeFile(join(gatewayDir, 'password'), 'gateway password\n', { mode: 0o600 })
const gatewayKeyStore = { kind: 'file' as const, directory: 'keys', password: { file: 'password' }, scrypt: TEST_SCRYPT }
const keys = await openFileKeyStore({ ...gatewayKeyStore, directory: join(gatewayDir, 'keys'), password: { file: join(gatewayDir, 'password') } })
await keys.generate('gateway')
const gatewaySigner = await keys.open('gateway')
const chain = await startTestChain({ gateway: gatewaySigner })
await keys.close()
await writeFleetFile(join(dir, 'fleet.json'), fleetFileOf(chain))

const port = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number }
    server.close(() => resolve(address.port))
  })
})
const gatewayFile = join(gatewayDir, 'gateway.json')
await writeJsonConfig(gatewayFile, {
  version: 1,
  fleetFile: '../fleet.json',
  dataDir: 'data',
  keyStore: gatewayKeyStore,
  keyLabel: 'gateway',
  listen: [`/ip4/127.0.0.1/tcp/${port}`],
  api: { host: '127.0.0.1', port: 0 },
  model: { initial: { mlp: { inputs: 4, hidden: [8], outputs: 3, seed: 1 } } },
  rounds: {
    config: { quorum: 1, durationSeconds: 90, selection: { fraction: 1, min: 1, max: 1 }, strategy: { name: 'fedavg' } },
    reannounceSeconds: 1,
    schedule: { mode: 'manual' },
  },
})
const gatewayConfig = await readGatewayConfig(gatewayFile)
let gateway: GatewayDaemon | undefined = await startGatewayDaemon(gatewayConfig, { logger })
const gatewayAddr = `/ip4/127.0.0.1/tcp/${port}/p2p/${gateway.peerId}`

// Training long enough (a few seconds) to be killed in the middle of it.
const device = await makeDevice({ chain, dir: join(dir, 'device'), bootstrap: [gatewayAddr], rows: 600, agent: { training: { epochs: 40, batchSize: 8, minSamples: 16, minFreeMemoryBytes: 0 } } })

const children = new Set<ChildProcess>()
let runs = 0
const cw = (args: string[]): ChildProcess => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const log = createWriteStream(join(dir, `cw-${++runs}.log`))
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}
const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)))
const run = async (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
  const child = cw(args)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await exited(child)
  return { code, stdout, stderr }
}

t.teardown(async () => {
  for (const child of children) child.kill('SIGKILL')
  await gateway?.stop()
  await chain.close()
  await rm(dir, { recursive: true, force: true })
})

const readJson = async <T>(file: string): Promise<T | undefined> => {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T
  } catch {
    return undefined
  }
}
const roundOf = async (n: string): Promise<RoundEntry | undefined> => (await readJson<{ rounds: RoundEntry[] }>(device.stateFile))?.rounds.find((r) => r.round === n)
const agentStatus = (): Promise<AgentStatus | undefined> => readJson<AgentStatus>(device.statusFile)
const gatewayRound = async (n: number): Promise<GatewayStatus['rounds'][number] | undefined> => (await (gateway as GatewayDaemon).status()).rounds.find((r) => r.round === n)
const startAgent = async (): Promise<ChildProcess> => {
  const before = (await agentStatus())?.pid
  const child = cw(['agent', 'start', '--config', device.file])
  await until(async () => {
    const s = await agentStatus()
    return s !== undefined && s.pid === child.pid && s.state !== 'stopped' && s.pid !== before
  }, 60_000, 'the agent to start')
  return child
}

t.test('killed with a signed update in its outbox, the agent delivers it after a restart', async (t) => {
  const agent = await startAgent()
  await until(async () => (await agentStatus())?.sensors[0]?.status === 'ended' && (await agentStatus())?.samples === 600, 60_000, 'the whole recording in the dataset')
  await (gateway as GatewayDaemon).startRound()
  await until(async () => (await roundOf('1'))?.status === 'training', 60_000, 'round 1 training')
  // The gateway goes down while the agent trains: the signed update cannot be delivered.
  await (gateway as GatewayDaemon).stop()
  gateway = undefined
  const queued = await until(async () => {
    const r = await roundOf('1')
    return r?.status === 'submitted' ? r : undefined
  }, 60_000, 'round 1 signed and queued')
  await until(async () => (await agentStatus())?.outbox.pending === 1, 10_000, 'the update pending in the outbox')
  agent.kill('SIGKILL')
  t.equal(await exited(agent), null, 'killed')

  gateway = await startGatewayDaemon(gatewayConfig, { logger })
  t.equal(gateway.peerId, gatewayAddr.split('/p2p/')[1], 'the gateway keeps its peer id')
  const restarted = await startAgent()
  const delivered = await until(async () => {
    const r = await roundOf('1')
    return r?.status === 'receipt-accepted' ? r : undefined
  }, 60_000, 'round 1 receipted')
  t.equal(delivered.attestationHash, queued.attestationHash, 'the update signed before the kill is the one delivered')
  const done = await until(async () => {
    const r = await gatewayRound(1)
    return r?.state === 'done' ? r : undefined
  }, 60_000, 'round 1 done at the gateway')
  t.equal(done.accepted, 1)
  t.equal(done.settlement, 'settled')
  await until(async () => (await agentStatus())?.outbox.pending === 0, 5_000, 'an empty outbox in status.json')
  t.ok(restarted.pid, 'the restarted agent runs on (the next test kills it)')
})

t.test('killed in the middle of training, the agent rejoins the round after a restart', async (t) => {
  const pid = (await agentStatus())?.pid ?? -1
  const agent = [...children].find((c) => c.pid === pid)
  t.ok(agent, 'the agent of the last test runs')
  const round1 = await gatewayRound(1)
  await until(async () => (await agentStatus())?.model === round1?.newModel, 30_000, 'the agent to adopt the settled round-1 model')
  await (gateway as GatewayDaemon).startRound()
  await until(async () => (await roundOf('2'))?.status === 'training', 60_000, 'round 2 training')
  ;(agent as ChildProcess).kill('SIGKILL')
  await exited(agent as ChildProcess)
  t.equal((await roundOf('2'))?.status, 'training', 'killed mid-training: nothing of round 2 was signed')

  const restarted = await startAgent()
  const entry = await until(async () => {
    const r = await roundOf('2')
    return r?.status === 'receipt-accepted' ? r : undefined
  }, 90_000, 'round 2 receipted after the restart')
  t.ok(entry.attestationHash)
  const done = await until(async () => {
    const r = await gatewayRound(2)
    return r?.state === 'done' ? r : undefined
  }, 60_000, 'round 2 done')
  t.equal(done.accepted, 1)
  const gatewayStatus = await (gateway as GatewayDaemon).status()
  t.same(gatewayStatus.updates.rejected, {}, 'no update was rejected (none signed twice for a round)')
  // The round's new model is settled and announced: the agent swaps to it.
  await until(async () => (await agentStatus())?.model === done.newModel, 30_000, 'the agent to adopt the round-2 model')

  // cw agent status, text and JSON.
  const json = await run(['agent', 'status', '--config', device.file, '--json'])
  t.equal(json.code, 0, json.stderr)
  const parsed = JSON.parse(json.stdout) as AgentStatus & { running: boolean }
  t.equal(parsed.running, true)
  t.equal(parsed.device, device.address)
  t.equal(parsed.model, done.newModel)
  t.equal(parsed.samples, 600, 'a recording played to its end is not stored again after a restart')
  t.match(parsed.rounds.find((r) => r.round === '2'), { status: 'receipt-accepted' })
  const text = await run(['agent', 'status', '--config', device.file])
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, /state\s+running/)
  t.match(text.stdout, /round\s+2\s+receipt-accepted/)

  // SIGTERM: a clean stop, exit 0, the status says so.
  restarted.kill('SIGTERM')
  t.equal(await exited(restarted), 0, 'exit 0 on SIGTERM')
  const final = await agentStatus()
  t.equal(final?.state, 'stopped')
  const after = await run(['agent', 'status', '--config', device.file, '--json'])
  t.equal((JSON.parse(after.stdout) as { running: boolean }).running, false)
})

t.test('a bad agent section is refused before anything starts', async (t) => {
  const bundle = JSON.parse(await readFile(device.file, 'utf8')) as { agent: Record<string, unknown> }
  const bad = join(device.dir, 'bad.json')
  await writeFile(bad, JSON.stringify({ ...bundle, agent: { ...bundle.agent, dataDir: 'never-made', training: { epochs: 0 } } }))
  const result = await run(['agent', 'start', '--config', bad])
  t.equal(result.code, 1)
  t.match(result.stderr, /error CW_CONFIG: .*bad\.json: agent\.training\.epochs/)
  await t.rejects(readFile(join(device.dir, 'never-made', 'status.json')), { code: 'ENOENT' }, 'nothing was written')
  await t.rejects(readAgentBundle(join(device.dir, 'missing.json')), { code: 'CW_CONFIG', message: /missing\.json: does not exist/ })
})

