// Gateway throughput. Prints a table and writes bench/results/gateway.json:
//   - updates verified and stored per second, for a 100k-parameter model (level store);
//   - FedAvg aggregation throughput, as a ratio to copying the same bytes (goal ≥ 0.5);
//   - peak memory while aggregating 1,000 updates of 100k parameters, streamed from the store.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  type ClientUpdate,
  type NamedTensor,
} from '../protocols/index.js'
import { InMemoryRegistry, verifySubmission, type VerificationContext } from '../gateway/verify/index.js'
import { RoundStore } from '../gateway/rounds/index.js'
import { printTable, withRatios, writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const PARAMS = 100_000
const UPDATES = quick ? 200 : 1000
const NOW = 1_700_000_000
const PEER = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'

const owner = createMemorySigner()
const fleet: Hex = `0x${'c0'.repeat(32)}`
const baseModel: Hex = `0x${'ba'.repeat(32)}`
const domain = fleetDomain({ chainId: 31337, verifyingContract: owner.address })
const spec = [{ name: 'w', shape: [PARAMS] }]
const base: NamedTensor<'float32'>[] = [{ name: 'w', dtype: 'float32', shape: [PARAMS], data: new Float32Array(PARAMS) }]

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
    config: { selection: { fraction: 1, min: 1, max: 10_000 }, durationSeconds: 60, quorum: UPDATES, strategy: { name: 'fedavg', params: {} } },
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
  let start = performance.now()
  for (const s of subs) {
    const submission = decodeSubmission(s.bytes)
    const verdict = await verifySubmission(submission, PEER, context)
    if (!verdict.accepted) throw new Error(`rejected: ${verdict.reason}`)
    await store.putUpdate(1n, verdict.device, hashMessage('UpdateAttestation', domain, submission.attestation.message), s.bytes)
  }
  rows.push({ group: 'ingest (100k params, level)', name: 'verified and stored', value: (UPDATES * 1000) / (performance.now() - start), unit: 'updates/s' })

  // FedAvg over the stored updates, streamed, against copying the same bytes.
  const bytesTotal = UPDATES * PARAMS * 4
  start = performance.now()
  for (const s of subs) s.bytes.slice()
  const copyMs = performance.now() - start
  const rssBefore = process.memoryUsage().rss
  const peak = { rss: rssBefore }
  async function* updates(): AsyncGenerator<ClientUpdate> {
    for await (const bytes of store.updates(1n)) {
      const s = decodeSubmission(bytes)
      yield { device: s.attestation.message.device, sampleCount: Number(s.attestation.message.sampleCount), delta: decodeUpdate(s.update).tensors }
      peak.rss = Math.max(peak.rss, process.memoryUsage().rss)
    }
  }
  start = performance.now()
  await new FedAvg().aggregate(base, updates())
  const aggMs = performance.now() - start
  // Aggregation here includes reading from level and decoding; the pure sum is measured too.
  const held = subs.map((s) => {
    const d = decodeSubmission(s.bytes)
    return { device: d.attestation.message.device, sampleCount: 100, delta: decodeUpdate(d.update).tensors }
  })
  start = performance.now()
  await new FedAvg().aggregate(base, held)
  const sumMs = performance.now() - start
  const MB = bytesTotal / 1e6
  rows.push({ group: 'FedAvg (MB of updates/s)', name: 'memcpy of the same bytes (baseline)', value: MB / (copyMs / 1000), unit: 'MB/s' })
  rows.push({ group: 'FedAvg (MB of updates/s)', name: 'FedAvg on decoded updates', value: MB / (sumMs / 1000), unit: 'MB/s', baseline: 'memcpy of the same bytes (baseline)' })
  rows.push({ group: 'FedAvg (MB of updates/s)', name: 'FedAvg streamed from level (read + decode + sum)', value: MB / (aggMs / 1000), unit: 'MB/s', baseline: 'memcpy of the same bytes (baseline)' })
  rows.push({ group: `memory, ${UPDATES} updates streamed`, name: 'resident memory growth while aggregating', value: (peak.rss - rssBefore) / 2 ** 20, unit: 'MiB' })
  rows.push({ group: `memory, ${UPDATES} updates streamed`, name: 'size of all updates', value: bytesTotal / 2 ** 20, unit: 'MiB' })
} finally {
  await db.close()
  await rm(dir, { recursive: true, force: true })
}
const table = withRatios(rows)
printTable(`gateway: ingest and aggregation (${UPDATES} updates of ${PARAMS} parameters)`, table)
console.log(`wrote ${writeResults('gateway', table, { updates: UPDATES, params: PARAMS })}`)
