// The demo fleet (`npm start`, `cw demo`): one machine, nothing else running. It starts the
// embedded chain and serves it on 127.0.0.1, creates a fleet, enrols N devices (each with a
// non-IID shard of the digits data behind a `replay` sensor), starts one gateway and N agents as
// separate `cw gateway start` / `cw agent start` processes, runs K rounds with live progress,
// has every device claim its rewards with `cw rewards claim`, audits every round with
// `cw audit round`, prints the results and stops every process it started.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createPublicClient, http, parseEther, type Address, type Hex } from 'viem'
import { readRoundSettlement } from '../../protocols/contracts/index.js'
import { decodeRoundRecord, QUALITY_SCALE, SAMPLE_WEIGHT_SCALE, sampleWeight } from '../../protocols/index.js'
import { openKeyStore, readFleetFile, writeJsonConfig, type FileKeyStoreConfig } from '../../hardware/index.js'
import { serveChain, startEmbeddedChain, signerToAccount, walletFor, connectChain } from '../../gateway/settlement/index.js'
import { digitsReplaySensor, splitDigits, writeDigitsCsv, DIGITS_PIXEL_MAX } from './digits-shards.js'
import type { RoundSummary } from '../../gateway/daemon/index.js'
import { gatewayStatus, startRound, waitForApi } from './gateway-api.js'
import { ProcessGroup, type ManagedProcess, type RunResult } from './processes.js'
import { enrolDemoDevices, createDemoFleet, type DemoBundle } from './demo-fleet.js'

export interface DemoOptions {
  devices: number
  rounds: number
  dataDir?: string
  keep: boolean
  /** Seconds a round collects before its deadline (it closes earlier at quorum). */
  roundSeconds: number
  /** Prints a line for people; the JSON summary goes to `result`. */
  print(line: string): void
  signal?: AbortSignal
}

export interface DemoDeviceRow {
  device: Address
  samples: number
  score: string
  reward: string
  claimed: string
  claimOk: boolean
}

export interface DemoRoundRow {
  round: string
  participants: number
  accepted: number
  accuracy: number | null
  keptParent: boolean
  newModel: string | null
  recordHash: string | null
  settledOnChain: boolean
  chainModel: string | null
  chainRoot: string | null
  audit: 'pass' | 'FAIL'
}

export interface DemoTimings {
  /** Per agent: ms from its process starting to its first status with a model loaded and samples in. */
  agentReadyMs: number[]
  /** Per round: ms from the round's start to its end (settled). */
  roundMs: number[]
  /** Per agent: peak resident bytes while idle with the model loaded (before the first round), and during rounds (training). Empty where /proc is not readable. */
  agentRss: { idle: number[]; rounds: number[] }
}

export interface DemoResult {
  dataDir: string
  fleet: Hex
  chainUrl: string
  genesisAccuracy: number | null
  timings: DemoTimings
  rounds: DemoRoundRow[]
  devices: DemoDeviceRow[]
  leftover: number[]
  ok: boolean
}

/** scrypt cost of the demo's key files: a demo setting, far below the default a real device uses. */
const DEMO_SCRYPT = { n: 2 ** 14, r: 8, p: 1 }
const READY_TIMEOUT_MS = 120_000
/** How often the agents' resident memory is sampled. */
const RSS_SAMPLE_MS = 200

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { print } = options
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'counterweight-demo-')))
  await mkdir(dataDir, { recursive: true })
  const group = new ProcessGroup()
  const logs = join(dataDir, 'logs')
  await mkdir(logs, { recursive: true })
  const cleanup: (() => Promise<void>)[] = []
  try {
    print(`data directory ${dataDir}`)
    // 1. Secrets: one random password for the demo's key files, in a 0600 file the processes read.
    const secrets = join(dataDir, 'secrets')
    await mkdir(secrets, { recursive: true, mode: 0o700 })
    const passwordFile = join(secrets, 'keystore-password')
    if (!existsSync(passwordFile)) await writeFile(passwordFile, randomBytes(24).toString('hex'), { mode: 0o600 })
    const keyStoreOf = (dir: string): FileKeyStoreConfig => ({ kind: 'file', directory: dir, password: { file: passwordFile }, scrypt: DEMO_SCRYPT })
    const ownerStore = keyStoreOf(join(dataDir, 'keys', 'owner'))
    const gatewayStore = keyStoreOf(join(dataDir, 'keys', 'gateway'))
    const ownerAddress = await ensureKey(ownerStore, 'owner')
    const gatewayAddress = await ensureKey(gatewayStore, 'gateway')

    // 2. The chain: the embedded EVM, kept in the data directory, served on 127.0.0.1.
    const embedded = await startEmbeddedChain({ stateFile: join(dataDir, 'chain', 'state.jsonl'), fund: [ownerAddress, gatewayAddress] })
    cleanup.push(() => embedded.close())
    const served = await serveChain({ chain: embedded })
    cleanup.push(() => served.close())
    print(`chain     embedded EVM ${embedded.chain.id} on ${served.url}`)

    // 3. The fleet, and 4. the data: a validation set for the gateway, one shard per device.
    const fleetFile = join(dataDir, 'fleet.json')
    const fleet = await createDemoFleet({ file: fleetFile, ownerStore, ownerLabel: 'owner', gateway: gatewayAddress, rpcUrl: served.url, chainId: embedded.chain.id })
    print(`fleet     ${fleet.fleet}  registry ${fleet.contracts.registry}`)
    const split = splitDigits(options.devices)
    const dataFiles = join(dataDir, 'data')
    await mkdir(dataFiles, { recursive: true })
    const validationCsv = join(dataFiles, 'validation.csv')
    await writeDigitsCsv(validationCsv, split.validation, DIGITS_PIXEL_MAX)

    // 5. The gateway, first: agents need its address to dial.
    const gatewayDir = join(dataDir, 'gateway')
    await mkdir(gatewayDir, { recursive: true })
    const gatewayConfig = join(gatewayDir, 'gateway.json')
    await writeJsonConfig(gatewayConfig, {
      version: 1,
      fleetFile: '../fleet.json',
      dataDir: 'data',
      keyStore: gatewayStore,
      keyLabel: 'gateway',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      api: { host: '127.0.0.1', port: 0 },
      model: { initial: { mlp: { inputs: 64, hidden: [32], outputs: 10, seed: 1 } } },
      validation: { csv: validationCsv, labelColumn: 'label' },
      rounds: {
        config: { quorum: options.devices, durationSeconds: options.roundSeconds, selection: { fraction: 1, min: 1, max: options.devices }, strategy: { name: 'fedavg' } },
        rewardTotal: '1000000',
        evaluationMargin: 0.05,
        reannounceSeconds: 2,
        schedule: { mode: 'manual' },
      },
    })
    const gatewayProcess = group.start('gateway', ['gateway', 'start', '--config', gatewayConfig], { log: join(logs, 'gateway.log') })
    let gatewayExited = false
    void gatewayProcess.exited.then(() => (gatewayExited = true))
    const gatewayData = join(gatewayDir, 'data')
    const api = await waitForApi(gatewayData, { timeoutMs: READY_TIMEOUT_MS, exited: () => gatewayExited })
    print(`gateway   ${gatewayAddress}  ${api.multiaddrs[0] ?? ''}`)

    // 6. Devices: enrolment (request on the device side, certificate and on-chain registration on
    // the owner's side), a shard each, and a little ETH to pay for their reward claims.
    const devicesDir = join(dataDir, 'devices')
    const bundles = await enrolDemoDevices({
      count: options.devices,
      fleetFile,
      ownerStore,
      ownerLabel: 'owner',
      dir: devicesDir,
      keyStoreOf,
      bootstrap: api.multiaddrs,
      sensorsFor: async (i, dir) => {
        const shard = join(dir, 'shard.csv')
        await writeDigitsCsv(shard, split.shards[i] ?? [])
        return [digitsReplaySensor(shard, 200)]
      },
      print,
    })
    await fundDevices(served.url, embedded.chain.id, ownerStore, bundles.map((b) => b.device))

    // 7. The agents.
    const agentProcesses = bundles.map((b, i) => group.start(`agent-${i + 1}`, ['agent', 'start', '--config', b.file], { log: join(logs, `agent-${i + 1}.log`) }))
    const agentReadyMs = await waitForAgents(bundles, agentProcesses, READY_TIMEOUT_MS)
    const rss = new RssSampler(agentProcesses.map((a) => a.child.pid ?? 0))
    cleanup.push(async () => {
      rss.stop()
    })
    print(`agents    ${bundles.length} running, samples ${split.shards.map((s) => s.length).join(' ')}`)

    // 8. Rounds.
    const genesis = await gatewayStatus(gatewayData)
    const genesisAccuracy = genesis.genesis.accuracy
    print(`round 0   genesis model settled${genesisAccuracy === null ? '' : `, validation accuracy ${(genesisAccuracy * 100).toFixed(1)}%`}`)
    const finished: RoundSummary[] = []
    const roundMs: number[] = []
    rss.phase('rounds')
    for (let k = 0; k < options.rounds; k++) {
      options.signal?.throwIfAborted()
      const startedAt = Date.now()
      const round = await startRound(gatewayData)
      finished.push(await followRound(gatewayData, round, options, () => gatewayExited))
      roundMs.push(Date.now() - startedAt)
    }

    // 9. Claims, chain, audits.
    const published = join(gatewayDir, 'data', 'published')
    const devices: DemoDeviceRow[] = []
    // Each device claims for itself (its own key pays), all at once; then every round is audited.
    print(`claims    ${bundles.length} devices run cw rewards claim`)
    const claims = await Promise.all(bundles.map((b) => group.run(['rewards', 'claim', '--config', b.file, '--fleet', fleetFile, '--records', published, '--json'], { timeoutMs: 120_000 })))
    for (const [i, b] of bundles.entries()) devices.push(deviceRow(b.device, claims[i] as RunResult))
    print(`audits    cw audit round for rounds ${finished.map((r) => r.round).join(', ')}`)
    const audits = await Promise.all(finished.map((r) => group.run(['audit', 'round', String(r.round), '--fleet', fleetFile, '--blobs', published, '--json'], { timeoutMs: 120_000 })))
    const client = createPublicClient({ transport: http(served.url) })
    const fleetNow = await readFleetFile(fleetFile)
    const rows: DemoRoundRow[] = []
    for (const [i, r] of finished.entries()) {
      const read = await readRoundSettlement(client, { ledger: fleetNow.contracts.ledger, round: BigInt(r.round), fromBlock: BigInt(fleetNow.contracts.deployedAt) })
      const onChain = read.settled ? read : undefined
      const audit = audits[i] as RunResult
      rows.push({
        round: String(r.round),
        participants: r.participants,
        accepted: r.accepted,
        accuracy: r.accuracy ?? null,
        keptParent: r.keptParent === true,
        newModel: r.newModel ?? null,
        recordHash: r.recordHash ?? null,
        settledOnChain: onChain !== undefined,
        chainModel: onChain?.newModel ?? null,
        chainRoot: onChain?.contributionsRoot ?? null,
        audit: audit.code === 0 ? 'pass' : 'FAIL',
      })
    }
    await addSamples(devices, bundles)
    await addScores(devices, finished, published)
    if (options.keep) {
      print('the fleet keeps running; Ctrl-C stops it')
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
    }
    const agentRss = rss.stop()
    const stopped = await group.stopAll()
    const leftover = group.pids
    const ok =
      rows.length === options.rounds &&
      rows.every((r) => r.settledOnChain && r.audit === 'pass') &&
      devices.every((d) => d.claimOk && d.claimed === d.reward) &&
      stopped.every((s) => !s.killed) &&
      leftover.length === 0
    const timings: DemoTimings = { agentReadyMs, roundMs, agentRss }
    return { dataDir, fleet: fleetNow.fleet, chainUrl: served.url, genesisAccuracy, timings, rounds: rows, devices, leftover, ok }
  } finally {
    await group.stopAll(5_000)
    for (const close of cleanup.reverse()) await close().catch(() => undefined)
  }
}

async function ensureKey(store: FileKeyStoreConfig, label: string): Promise<Address> {
  const keys = await openKeyStore(store)
  try {
    const held = (await keys.list()).find((k) => k.label === label)
    if (held?.address !== undefined) return held.address
    return held === undefined ? (await keys.generate(label)).address : (await keys.open(label)).address
  } finally {
    await keys.close()
  }
}

/** The owner sends each device a little ETH, so that it pays for its own reward claim. */
async function fundDevices(rpcUrl: string, chainId: number, ownerStore: FileKeyStoreConfig, devices: readonly Address[]): Promise<void> {
  const keys = await openKeyStore(ownerStore)
  const connection = await connectChain({ config: { rpcUrl, chainId, pollIntervalMs: 50 } })
  try {
    const account = signerToAccount({ signer: await keys.open('owner') })
    const wallet = walletFor(connection, account)
    for (const device of devices) {
      const balance = await connection.publicClient.getBalance({ address: device })
      if (balance >= parseEther('0.05')) continue
      const hash = await wallet.sendTransaction({ account, chain: connection.chain, to: device, value: parseEther('0.1') })
      await connection.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })
    }
  } finally {
    await connection.close()
    await keys.close()
  }
}

interface AgentStatusFile {
  pid?: number
  state?: string
  samples?: number
  model?: string | null
}

async function readAgentStatus(file: string): Promise<AgentStatusFile | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as AgentStatusFile
  } catch {
    return undefined
  }
}

/**
 * Waits until every agent process has written a status of its own (its pid) with the genesis model
 * loaded and samples in its dataset; each agent's time from process start to then.
 */
async function waitForAgents(bundles: readonly DemoBundle[], processes: readonly ManagedProcess[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs
  const readyAt: (number | undefined)[] = bundles.map(() => undefined)
  const exited = processes.map(() => false)
  processes.forEach((p, i) => void p.exited.then(() => (exited[i] = true)))
  while (readyAt.some((r) => r === undefined)) {
    for (const [i, b] of bundles.entries()) {
      if (readyAt[i] !== undefined) continue
      if (exited[i] === true) throw new Error(`agent ${i + 1} exited before it was ready (see logs/agent-${i + 1}.log)`)
      const status = await readAgentStatus(b.statusFile)
      if (status?.pid === processes[i]?.child.pid && status?.state === 'running' && (status?.samples ?? 0) > 0) readyAt[i] = Date.now()
    }
    if (Date.now() > deadline) throw new Error(`agents ${readyAt.flatMap((r, i) => (r === undefined ? [i + 1] : [])).join(', ')} were not ready after ${Math.round(timeoutMs / 1000)} s (see logs/)`)
    await sleep(100)
  }
  return readyAt.map((r, i) => (r as number) - (processes[i] as ManagedProcess).startedAt)
}

/** Samples the agents' resident memory (VmRSS from /proc) and keeps each one's peak per phase. */
class RssSampler {
  readonly #pids: readonly number[]
  readonly #peaks = { idle: [] as number[], rounds: [] as number[] }
  #phase: 'idle' | 'rounds' = 'idle'
  #timer: NodeJS.Timeout | undefined

  constructor(pids: readonly number[]) {
    this.#pids = pids
    this.#peaks.idle = pids.map(() => 0)
    this.#peaks.rounds = pids.map(() => 0)
    this.#timer = setInterval(() => void this.#sample(), RSS_SAMPLE_MS)
    void this.#sample()
  }

  phase(phase: 'idle' | 'rounds'): void {
    this.#phase = phase
  }

  async #sample(): Promise<void> {
    const peaks = this.#peaks[this.#phase]
    for (const [i, pid] of this.#pids.entries()) {
      const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined)
      if (text === undefined) continue
      const kib = /^VmRSS:\s+(\d+) kB$/m.exec(text)?.[1]
      // A process that has exited (a zombie) shows no VmRSS.
      if (kib !== undefined) peaks[i] = Math.max(peaks[i] ?? 0, Number(kib) * 1024)
    }
  }

  stop(): { idle: number[]; rounds: number[] } {
    clearInterval(this.#timer)
    this.#timer = undefined
    const has = (xs: number[]): number[] => (xs.some((x) => x > 0) ? [...xs] : [])
    return { idle: has(this.#peaks.idle), rounds: has(this.#peaks.rounds) }
  }
}

const percent = (v: number | null | undefined): string => (v === null || v === undefined ? '   –  ' : `${(v * 100).toFixed(1).padStart(5)}%`)

/** Polls the gateway until `round` is done, printing each change of state. */
async function followRound(gatewayData: string, round: number, options: DemoOptions, exited: () => boolean): Promise<RoundSummary> {
  const deadline = Date.now() + (options.roundSeconds + 120) * 1000
  let last = ''
  for (;;) {
    options.signal?.throwIfAborted()
    if (exited()) throw new Error('the gateway exited during a round (see logs/gateway.log)')
    const status = await gatewayStatus(gatewayData)
    const r = status.rounds.find((x) => x.round === round)
    if (r !== undefined) {
      const line = `round ${String(round).padStart(2)}  ${r.state.padEnd(11)} participants ${r.participants}  updates ${r.accepted}`
      if (line !== last) {
        options.print(r.state === 'done' ? `${line}  accuracy ${percent(r.accuracy)}${r.keptParent === true ? '  (kept the parent model)' : ''}` : line)
        last = line
      }
      if (r.state === 'done') return r
    }
    if (Date.now() > deadline) throw new Error(`round ${round} did not finish in time (see logs/gateway.log)`)
    await sleep(300)
  }
}

interface ClaimOutput {
  amount?: string
  claimed?: { round: string; score: string }[]
}

/**
 * Each device's score and reward over the rounds, from the round records the gateway published
 * (the public data an auditor reads): score = Σ √min(samples, cap) × quality (docs/scoring.md), reward = Σ
 * the reward each record allots it.
 */
async function addScores(rows: DemoDeviceRow[], rounds: readonly RoundSummary[], published: string): Promise<void> {
  const score = new Map<string, number>()
  const reward = new Map<string, bigint>()
  for (const r of rounds) {
    if (r.recordHash === null) continue
    const record = decodeRoundRecord(await readFile(join(published, r.recordHash.toLowerCase())))
    for (const c of record.contributions) {
      const device = c.attestation.message.device.toLowerCase()
      const weight = Number(sampleWeight(c.attestation.message.sampleCount)) / Number(SAMPLE_WEIGHT_SCALE)
      score.set(device, (score.get(device) ?? 0) + (weight * c.qualityPpm) / QUALITY_SCALE)
      reward.set(device, (reward.get(device) ?? 0n) + c.reward)
    }
  }
  for (const row of rows) {
    row.score = (score.get(row.device.toLowerCase()) ?? 0).toFixed(1)
    row.reward = (reward.get(row.device.toLowerCase()) ?? 0n).toString()
  }
}

function deviceRow(device: Address, claim: { code: number | null; stdout: string; stderr: string }): DemoDeviceRow {
  let parsed: ClaimOutput = {}
  try {
    parsed = JSON.parse(claim.stdout) as ClaimOutput
  } catch {
    /* reported as a failed claim */
  }
  return { device, samples: 0, score: '0', reward: '0', claimed: parsed.amount ?? '0', claimOk: claim.code === 0 }
}

async function addSamples(rows: DemoDeviceRow[], bundles: readonly DemoBundle[]): Promise<void> {
  for (const [i, b] of bundles.entries()) {
    const row = rows[i]
    if (row !== undefined) row.samples = (await readAgentStatus(b.statusFile))?.samples ?? 0
  }
}
