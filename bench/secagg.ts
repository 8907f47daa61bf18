// Secure aggregation overhead (protocols/secagg), in process: for 10, 100 and 1,000 devices, the
// time of a whole SecAgg+ round (every device's advertise, share and mask, the gateway's unmask)
// and the bytes each device sends, against plain FedAvg of the same float32 updates in the same
// run; with 10% and 30% of the devices dropping out after dealing their shares, the round still
// completes with the exact sum. The update is the digits MLP's (2,410 weights). The network is
// not measured: libp2p transport of these messages is not wired yet (see README).
// Prints a table and writes bench/results/secagg.json.
//   npx tsx bench/secagg.ts [--quick]     (--quick: 10 and 100 devices)
import { getAddress, type Address } from 'viem'
import { FedAvg, SecAggClient, SHARE_BYTES, quantise, unmaskSum, type ClientUpdate, type MaskedInput, type NamedTensor, type SecAggParams } from '../protocols/index.js'
import { printTable, withRatios, writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const SIZES = quick ? [10, 100] : [10, 100, 1000]
const LENGTH = 64 * 32 + 32 + 32 * 10 + 10
const NEIGHBOURS = 20
const THRESHOLD = 11
const FIXED = { range: 1, scale: 2 ** 14 }

const device = (i: number): Address => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`)
const updateOf = (i: number) => Float32Array.from({ length: LENGTH }, (_, j) => Math.sin(i * 131 + j * 0.7) * 0.05)

function secaggRound(n: number, dropFraction: number): { ms: number; deviceMs: number; gatewayMs: number; bytesPerDevice: number; exact: boolean } {
  const devices = Array.from({ length: n }, (_, i) => device(i))
  const params: SecAggParams = { fleet: `0x${'c0'.repeat(32)}`, round: 1n, devices, neighbours: NEIGHBOURS, threshold: Math.min(THRESHOLD, Math.floor(Math.min(NEIGHBOURS, n - 1) / 2) + 1), length: LENGTH, fixedPoint: FIXED }
  const drop = Math.round(dropFraction * n)
  const dropped = new Set(Array.from({ length: drop }, (_, j) => Math.floor((j * n) / drop)))
  const started = performance.now()
  const clients = devices.map((d) => new SecAggClient(params, d))
  const adverts = clients.map((c) => c.advertise())
  const distributions = clients.map((c) => c.share(adverts))
  const masked: MaskedInput[] = []
  clients.forEach((c, i) => {
    if (!dropped.has(i)) masked.push(c.mask(updateOf(i), distributions))
  })
  const submitted = masked.map((m) => m.device)
  const reveals = clients.filter((_, i) => !dropped.has(i)).map((c) => c.reveal(submitted))
  const unmaskStarted = performance.now()
  const { sum } = unmaskSum({ params, adverts, distributions, masked, reveals })
  const gatewayMs = performance.now() - unmaskStarted
  const ms = performance.now() - started
  const expected = new Uint32Array(LENGTH)
  devices.forEach((_, i) => {
    if (!dropped.has(i)) quantise(updateOf(i), FIXED).forEach((v, j) => (expected[j] = ((expected[j] as number) + v) >>> 0))
  })
  const exact = Buffer.compare(Buffer.from(sum.buffer), Buffer.from(expected.buffer)) === 0
  // What one device sends: its advertisement, its encrypted shares and commitments, its masked input, its reveal.
  const sent = adverts.reduce((s, a) => s + a.maskKey.length + a.encryptionKey.length + 20, 0)
    + distributions.reduce((s, d) => s + d.shares.reduce((x, c) => x + c.ciphertext.length + 20, 0) + d.commitments.length * (20 + 64), 0)
    + masked.reduce((s, m) => s + m.masked.byteLength + 20, 0)
    + reveals.reduce((s, r) => s + r.shares.length * (20 + 1 + 2 + SHARE_BYTES), 0)
  // The devices' work runs one after another here; on a fleet it runs in parallel.
  return { ms, deviceMs: (ms - gatewayMs) / n, gatewayMs, bytesPerDevice: sent / n, exact }
}

async function plainRound(n: number): Promise<{ ms: number; bytesPerDevice: number }> {
  const base: NamedTensor<'float32'>[] = [{ name: 'w', dtype: 'float32', shape: [LENGTH], data: new Float32Array(LENGTH) }]
  const updates: ClientUpdate[] = Array.from({ length: n }, (_, i) => ({ device: device(i), sampleCount: 1, delta: [{ ...base[0] as NamedTensor<'float32'>, data: updateOf(i) }] }))
  const started = performance.now()
  await new FedAvg().aggregate(base, updates)
  return { ms: performance.now() - started, bytesPerDevice: LENGTH * 4 }
}

const rows: Row[] = []
const checks: Record<string, boolean> = {}
for (const n of SIZES) {
  process.stderr.write(`${n} devices…\n`)
  const plain = await plainRound(n)
  rows.push({ group: `${n} devices: round time`, name: 'plain FedAvg', value: plain.ms, unit: 'ms' })
  rows.push({ group: `${n} devices: bytes per device`, name: 'plain FedAvg', value: plain.bytesPerDevice, unit: 'bytes' })
  for (const fraction of [0, 0.1, 0.3]) {
    const name = fraction === 0 ? 'SecAgg+' : `SecAgg+ ${fraction * 100}% dropout`
    const r = secaggRound(n, fraction)
    checks[`${n} ${name}`] = r.exact
    if (!r.exact) throw new Error(`${n} devices, ${name}: the unmasked sum is not exact`)
    rows.push({ group: `${n} devices: round time`, name, value: r.ms, unit: 'ms', baseline: 'plain FedAvg' })
    rows.push({ group: `${n} devices: gateway unmask + sum`, name, value: r.gatewayMs, unit: 'ms' })
    rows.push({ group: `${n} devices: work per device`, name, value: r.deviceMs, unit: 'ms' })
    rows.push({ group: `${n} devices: bytes per device`, name, value: r.bytesPerDevice, unit: 'bytes', baseline: 'plain FedAvg' })
  }
}
const table = withRatios(rows)
printTable(`SecAgg+ overhead in process (${LENGTH} weights, ${NEIGHBOURS} neighbours, threshold ${THRESHOLD}; every round's sum exact)`, table)
console.log(`\nwrote ${writeResults('secagg', table, { quick, length: LENGTH, neighbours: NEIGHBOURS, threshold: THRESHOLD, fixedPoint: FIXED, exact: checks })}`)
