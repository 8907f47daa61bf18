import t from 'tap'
import { getAddress, type Address } from 'viem'
import { FedAvg, weightedMeanDelta, type ClientUpdate, type NamedTensor } from '../../protocols/index.js'
import { WEIGHTED_SUM_CHUNK } from '../../protocols/aggregation/constants.js'
import { createWeightedSum, wasmSimdAvailable, type WeightedSumBackend } from '../../protocols/aggregation/weighted-sum.js'
import { WEIGHTED_SUM_WASM, wasmSimdSupported } from '../../protocols/aggregation/weighted-sum-wasm.js'

const BACKENDS: WeightedSumBackend[] = ['js', 'wasm']
const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex')

let seed = 11
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32
/** Awkward float32 values: signed zeros, subnormals, the extremes, values near rounding ties. */
const AWKWARD = [0, -0, 2 ** -149, -(2 ** -149), 2 ** -126, 3.4028234663852886e38, -3.4028234663852886e38, 1 + 2 ** -23, 1 - 2 ** -24, 16777217, 0.1, -1 / 3]
const randomValue = () => {
  const r = next()
  if (r < 0.2) return AWKWARD[Math.floor(next() * AWKWARD.length)] as number
  // Magnitudes from 2^-140 to 2^120 so that sums cancel and round in every way.
  return (next() - 0.5) * 2 ** Math.floor(next() * 260 - 140)
}
const randomData = (n: number) => Float32Array.from({ length: n }, randomValue)
const WEIGHTS = [1, 3, 7, 1000, 2 ** 29 + 1, Number.MAX_SAFE_INTEGER]

/** The scalar definition: acc[j] = acc[j] + w * x[j], one update after another. */
function reference(length: number, runs: { offset: number; data: Float32Array; weight: number }[]): Float64Array {
  const acc = new Float64Array(length)
  for (const { offset, data, weight } of runs) for (let j = 0; j < data.length; j++) acc[offset + j] = (acc[offset + j] as number) + weight * (data[j] as number)
  return acc
}

t.test('this engine runs the WebAssembly SIMD kernel', async (t) => {
  // Node.js 22 has WebAssembly SIMD; the JavaScript loop is only the fallback elsewhere.
  t.ok(wasmSimdSupported(WEIGHTED_SUM_WASM), 'the hand-assembled module validates')
  t.notOk(wasmSimdSupported(WEIGHTED_SUM_WASM.subarray(0, 40)), 'a truncated one does not')
  t.ok(wasmSimdAvailable())
  t.equal(createWeightedSum(4).backend, 'wasm', 'the default backend')
})

t.test('both backends give the bits of the scalar definition on awkward data', async (t) => {
  // Lengths around the SIMD width and the chunk size, at offsets that are not multiples of 4.
  const lengths = [0, 1, 3, 4, 5, 7, 8, WEIGHTED_SUM_CHUNK - 1, WEIGHTED_SUM_CHUNK, WEIGHTED_SUM_CHUNK + 5, 3 * WEIGHTED_SUM_CHUNK + 2]
  for (const n of lengths) {
    const offset = n % 3
    const total = n + offset + 2
    const runs = Array.from({ length: 12 }, (_, k) => ({ offset, data: randomData(n), weight: WEIGHTS[k % WEIGHTS.length] as number }))
    const want = bits(reference(total, runs))
    for (const backend of BACKENDS) {
      const sum = createWeightedSum(total, { backend })
      for (const run of runs) t.equal(sum.add(run.offset, run.data, run.weight), -1)
      if (bits(sum.read(0, total)) !== want) t.fail(`${backend}, ${n} values: differs from the scalar definition`)
    }
  }
  t.pass('identical bits for every length and backend')
})

t.test('a non-finite value is found at its index, wherever it lies', async (t) => {
  const n = 2 * WEIGHTED_SUM_CHUNK + 7
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    for (const at of [0, 3, 5, WEIGHTED_SUM_CHUNK - 1, WEIGHTED_SUM_CHUNK + 2, n - 8, n - 1]) {
      const data = randomData(n)
      data[at] = bad
      if (at + 9 < n) data[at + 9] = bad // a later one is not the one reported
      for (const backend of BACKENDS) t.equal(createWeightedSum(n + 1, { backend }).add(1, data, 5), at, `${backend}: ${bad} at ${at}`)
    }
  }
})

t.test('runs outside the sum and unknown backends are refused', async (t) => {
  for (const backend of BACKENDS) {
    const sum = createWeightedSum(8, { backend })
    t.throws(() => sum.add(5, new Float32Array(4), 1), { code: 'CW_INVALID_ARGUMENT', details: { field: 'offset' } })
    t.throws(() => sum.add(-1, new Float32Array(1), 1), { code: 'CW_INVALID_ARGUMENT', details: { field: 'offset' } })
    t.throws(() => sum.read(4, 5), { code: 'CW_INVALID_ARGUMENT', details: { field: 'offset' } })
  }
  t.throws(() => createWeightedSum(-1), { code: 'CW_INVALID_ARGUMENT', details: { field: 'length' } })
  t.throws(() => createWeightedSum(4, { backend: 'gpu' as WeightedSumBackend }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'backend' } })
})

const device = (i: number): Address => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`)
const tensor = (name: string, data: Float32Array<ArrayBuffer>): NamedTensor<'float32'> => ({ name, dtype: 'float32', shape: [data.length], data })

t.test('FedAvg gives the same bits on either backend as the scalar per-coordinate sum', async (t) => {
  const sizes = { a: 10, b: WEIGHTED_SUM_CHUNK + 3, c: 1 }
  const base = Object.entries(sizes).map(([name, n]) => tensor(name, new Float32Array(n)))
  const updates: ClientUpdate[] = Array.from({ length: 9 }, (_, i) => ({
    device: device(i),
    sampleCount: WEIGHTS[i % WEIGHTS.length] as number,
    delta: base.map((b) => tensor(b.name, randomData(b.data.length))),
  }))
  const samples = updates.reduce((s, u) => s + u.sampleCount, 0)
  const means = base.map((b, i) =>
    reference(b.data.length, updates.map((u) => ({ offset: 0, data: (u.delta[i] as NamedTensor<'float32'>).data, weight: u.sampleCount }))).map((v) => v / samples),
  )
  const want = means.map(bits)
  for (const backend of BACKENDS) {
    const { mean, samples: total } = await weightedMeanDelta(base, updates, { backend })
    t.equal(total, samples)
    t.same(mean.map(bits), want, `${backend}: the mean delta`)
  }
  const weights = (await new FedAvg().aggregate(base, updates)).weights
  t.same(weights.map((w) => Buffer.from(w.data.buffer).toString('hex')), means.map((m) => Buffer.from(Float32Array.from(m).buffer).toString('hex')), 'the new weights: base (zero) + mean, rounded once')
})

t.test('FedAvg names the update and tensor holding a non-finite value, on either backend', async (t) => {
  const base = [tensor('a', new Float32Array(3)), tensor('b', new Float32Array(WEIGHTED_SUM_CHUNK + 1))]
  const bad = randomData(WEIGHTED_SUM_CHUNK + 1)
  bad[WEIGHTED_SUM_CHUNK - 2] = Number.NaN
  const updates: ClientUpdate[] = [
    { device: device(0), sampleCount: 1, delta: [tensor('a', randomData(3)), tensor('b', randomData(WEIGHTED_SUM_CHUNK + 1))] },
    { device: device(1), sampleCount: 2, delta: [tensor('a', randomData(3)), tensor('b', bad)] },
  ]
  for (const backend of BACKENDS)
    await t.rejects(weightedMeanDelta(base, updates, { backend }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'updates.1.delta.1' } }, backend)
})
