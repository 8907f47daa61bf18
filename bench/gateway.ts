// Gateway throughput. Prints a table and writes bench/results/gateway.json:
//   - updates verified and stored per second, for a 100k-parameter model (level store);
//   - FedAvg aggregation throughput, as a ratio to copying the same bytes (goal ≥ 0.5);
//   - peak memory while aggregating 1,000 updates of 100k parameters, streamed from the store: live
//     bytes (V8 heap used + array buffers after a forced gc before each update), measured in a child
//     process started with --expose-gc, for 100 updates and for all of them, so that growth with the
//     number of updates would show.
// Timings are the best of REPEATS runs: the machine may be shared.
// Flags: --quick (200 updates), --memory-child <db> <count> (internal: the memory measurement).
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Level } from 'level'
import { getAddress, type Address, type Hex } from 'viem'
import {
  FedAvg,
  contentId,
  createMemorySigner,
  decodeSubmission,
  decodeUpdate,
  encodeSubmission,
  encodeUpdate,
  fleetDomain,
  hashMessage,
  signMessage,
  weightedMeanDelta,
  type ClientUpdate,
  type NamedTensor,
} from '../protocols/index.js'
import { InMemoryRegistry, verifySubmission, type VerificationContext } from '../gateway/verify/index.js'
import { RoundStore } from '../gateway/rounds/index.js'
import { wasmSimdAvailable } from '../protocols/aggregation/weighted-sum.js'
import { printTable, withRatios, writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const PARAMS = 100_000
const UPDATES = quick ? 200 : 1000
const MEMORY_SMALL = 100
const REPEATS = 3
const MEMORY_CHILD = '--memory-child'

async function* fromStore(store: RoundStore, limit = Number.POSITIVE_INFINITY, onEach?: () => void): AsyncGenerator<ClientUpdate> {
  let n = 0
  for await (const bytes of store.updates(1n)) {
    if (n++ === limit) return
    onEach?.()
    const s = decodeSubmission(bytes)
    yield { device: s.attestation.message.device, sampleCount: Number(s.attestation.message.sampleCount), delta: decodeUpdate(s.update).tensors }
  }
}

/**
 * In the child: streams the first `count` stored updates through FedAvg. Before each update is
 * read, a full gc leaves only live data, whose size (V8 heap used + array buffers, where the
 * tensors live) is sampled; the peak is printed as JSON, with the live size before and after.
 */
async function memoryChild(dbPath: string, count: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error(`${MEMORY_CHILD} needs node --expose-gc`)
  const live = () => {
    gc()
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers
  }
  const db = new Level<string, unknown>(dbPath)
  await db.open()
  try {
    const store = new RoundStore(db as never)
    const before = live()
    let peak = before
    await new FedAvg().aggregate(base, fromStore(store, count, () => (peak = Math.max(peak, live()))))
    const after = live()
    process.stdout.write(`${JSON.stringify({ count, before, peak: Math.max(peak, after), after })}\n`)
  } finally {
    await db.close()
  }
}


function measureMemory(dbPath: string, count: number): { count: number; before: number; peak: number; after: number } {
  const child = spawnSync(process.execPath, ['--expose-gc', '--import=tsx', fileURLToPath(import.meta.url), MEMORY_CHILD, dbPath, String(count)], { encoding: 'utf8' })
  if (child.status !== 0) throw new Error(`memory child failed: ${child.stderr}`)
  return JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as ReturnType<typeof measureMemory>
}

/** The fastest of REPEATS runs of `fn`, in ms. */
async function bestMs(fn: () => unknown): Promise<number> {
  let best = Number.POSITIVE_INFINITY
  for (let r = 0; r < REPEATS; r++) {
    const start = performance.now()
    await fn()
    best = Math.min(best, performance.now() - start)
  }
  return best
}
const NOW = 1_700_000_000
const PEER = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'

const owner = createMemorySigner()
const fleet: Hex = `0x${'c0'.repeat(32)}`
const baseModel: Hex = `0x${'ba'.repeat(32)}`
const domain = fleetDomain({ chainId: 31337, verifyingContract: owner.address })
const spec = [{ name: 'w', shape: [PARAMS] }]
const base: NamedTensor<'float32'>[] = [{ name: 'w', dtype: 'float32', shape: [PARAMS], data: new Float32Array(PARAMS) }]

if (process.argv.includes(MEMORY_CHILD)) {
  const at = process.argv.indexOf(MEMORY_CHILD)
  await memoryChild(process.argv[at + 1] as string, Number(process.argv[at + 2]))
  process.exit(0)
}

/** `count` signed submissions from distinct devices, each a dense float32 100k-parameter update. */
async function submissions(count: number): Promise<{ device: Address; bytes: Uint8Array }[]> {
  const out: { device: Address; bytes: Uint8Array }[] = []
  let seed = 1
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 1e-3
  const devices = Array.from({ length: count }, () => createMemorySigner())
  devices.sort((a, b) => (a.address.toLowerCase() < b.address.toLowerCase() ? -1 : 1))
  for (const device of devices) {
    const update = encodeUpdate([{ name: 'w', dtype: 'float32', shape: [PARAMS], data: Float32Array.from({ length: PARAMS }, rand) }], { encoding: 'float32' })
    const certificate = await signMessage('DeviceCertificate', {
      domain,
      signer: owner,
      message: { device: device.address, peerId: PEER, fleet, hardwareModel: 'bench', keyStorage: 'memory', capabilities: [], validFrom: 0n, validUntil: BigInt(NOW * 2), serial: '' },
    })
    const attestation = await signMessage('UpdateAttestation', {
      domain,
      signer: device,
      message: { fleet, round: 1n, device: device.address, baseModel, updateHash: contentId(update), sampleCount: 100n, metricsHash: `0x${'00'.repeat(32)}`, time: BigInt(NOW) },
    })
    out.push({ device: getAddress(device.address), bytes: encodeSubmission({ attestation, certificate, update }) })
  }
  return out
}

// The machine may be shared: the 1, 5 and 15 minute load averages go into the results.
const loadBefore = loadavg()
const dir = await mkdtemp(join(tmpdir(), 'cw-bench-gateway-'))
const db = new Level<string, unknown>(join(dir, 'db'))
await db.open()
const store = new RoundStore(db as never)
const rows: Row[] = []
try {
  const subs = await submissions(UPDATES)
  const registry = new InMemoryRegistry()
  registry.register(...subs.map((s) => s.device))
  await store.open({
    round: '1',
    config: { selection: { fraction: 1, min: 1, max: 10_000 }, durationSeconds: 60, quorum: UPDATES, minUpdates: 1, strategy: { name: 'fedavg', params: {} } },
    baseModel,
    announcedAt: NOW,
    deadline: NOW + 60,
    participants: [],
    announcement: { message: {}, signature: '0x' },
  })
  await store.transition(1n, 'open')
  const context: VerificationContext = {
    domain,
    fleet,
    owner: owner.address,
    registry,
    round: { round: 1n, open: true, baseModel },
    model: spec,
    limits: { maxNorm: 1e6, minSamples: 1, maxSamples: 1e6, maxAgeSeconds: 3600, maxSkewSeconds: 60 },
    seen: (h) => store.seen(h),
    now: () => NOW,
  }

  // Verified and stored per second.
  const start = performance.now()
  for (const s of subs) {
    const submission = decodeSubmission(s.bytes)
    const verdict = await verifySubmission(submission, PEER, context)
    if (!verdict.accepted) throw new Error(`rejected: ${verdict.reason}`)
    await store.putUpdate(1n, verdict.device, hashMessage('UpdateAttestation', domain, submission.attestation.message), s.bytes)
  }
  rows.push({ group: 'ingest (100k params, level)', name: 'verified and stored', value: (UPDATES * 1000) / (performance.now() - start), unit: 'updates/s' })

  // FedAvg over the stored updates, streamed, against copying the same bytes.
  const bytesTotal = UPDATES * PARAMS * 4
  const held = subs.map((s) => {
    const d = decodeSubmission(s.bytes)
    return { device: d.attestation.message.device, sampleCount: 100, delta: decodeUpdate(d.update).tensors }
  })
  // memcpy proper, like with like: the N × P float32 values the sum reads (the decoded updates'
  // data), each copied into one buffer allocated once, so that allocation and gc are not counted.
  const into = new Float32Array(PARAMS)
  const copyMs = await bestMs(() => {
    for (const u of held) for (const t of u.delta) into.set(t.data)
  })
  const sliceMs = await bestMs(() => {
    for (const u of held) for (const t of u.delta) t.data.slice()
  })
  const sumMs = await bestMs(() => new FedAvg().aggregate(base, held))
  const jsSumMs = await bestMs(() => weightedMeanDelta(base, held, { backend: 'js' }))
  held.length = 0
  const aggMs = await bestMs(() => new FedAvg().aggregate(base, fromStore(store)))
  // Where the streamed time goes: reading from level, the strict decodes, and the sum alone.
  const readMs = await bestMs(async () => {
    for await (const _ of store.updates(1n)) void _
  })
  const decodeMs = await bestMs(() => {
    for (const s of subs) decodeUpdate(decodeSubmission(s.bytes).update)
  })
  const MB = bytesTotal / 1e6
  const rate = (ms: number) => MB / (ms / 1000)
  const memcpy = 'memcpy of the same bytes (baseline: N × P × 4 into one buffer)'
  rows.push({ group: 'FedAvg (MB of updates/s)', name: memcpy, value: rate(copyMs), unit: 'MB/s' })
  rows.push({ group: 'FedAvg (MB of updates/s)', name: 'copy into a new buffer each (slice)', value: rate(sliceMs), unit: 'MB/s', baseline: memcpy })
  rows.push({ group: 'FedAvg (MB of updates/s)', name: `FedAvg on decoded updates (${wasmSimdAvailable() ? 'WebAssembly SIMD' : 'JavaScript'} sum)`, value: rate(sumMs), unit: 'MB/s', baseline: memcpy })
  rows.push({ group: 'FedAvg (MB of updates/s)', name: 'FedAvg on decoded updates (JavaScript sum, the fallback)', value: rate(jsSumMs), unit: 'MB/s', baseline: memcpy })
  rows.push({ group: 'FedAvg (MB of updates/s)', name: 'FedAvg streamed from level (read + decode + sum)', value: rate(aggMs), unit: 'MB/s', baseline: memcpy })
  rows.push({ group: 'FedAvg (MB of updates/s)', name: 'of which: level read alone', value: rate(readMs), unit: 'MB/s', baseline: memcpy })
  rows.push({ group: 'FedAvg (MB of updates/s)', name: 'of which: strict decode alone (submission + update)', value: rate(decodeMs), unit: 'MB/s', baseline: memcpy })

  // Peak live memory while FedAvg streams the stored updates, in a child process with --expose-gc.
  await db.close()
  const small = measureMemory(join(dir, 'db'), Math.min(MEMORY_SMALL, UPDATES))
  const all = measureMemory(join(dir, 'db'), UPDATES)
  const MiB = 2 ** 20
  const group = 'memory: FedAvg streamed from level (live bytes)'
  rows.push({ group, name: 'one update (100k float32)', value: (PARAMS * 4) / MiB, unit: 'MiB' })
  rows.push({ group, name: `all ${UPDATES} updates`, value: bytesTotal / MiB, unit: 'MiB' })
  rows.push({ group, name: `peak growth, ${small.count} updates`, value: (small.peak - small.before) / MiB, unit: 'MiB' })
  rows.push({ group, name: `peak growth, ${all.count} updates`, value: (all.peak - all.before) / MiB, unit: 'MiB' })
  rows.push({ group, name: `peak live total, ${all.count} updates`, value: all.peak / MiB, unit: 'MiB' })
} finally {
  if (db.status === 'open') await db.close()
  await rm(dir, { recursive: true, force: true })
}
const table = withRatios(rows)
printTable(`gateway: ingest and aggregation (${UPDATES} updates of ${PARAMS} parameters)`, table)
console.log(`wrote ${writeResults('gateway', table, { updates: UPDATES, params: PARAMS, loadAverage: { before: loadBefore, after: loadavg() } })}`)
