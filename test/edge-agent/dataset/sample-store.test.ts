// edge-agent/dataset: the level-backed ring buffer keeps its caps, its order and its per-class
// counts across restarts; the split is seeded; bad samples are refused with typed errors.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SampleStore, encodeSample, decodeSample, splitSamples, toTrainingData, type Sample } from '../../../edge-agent/dataset/index.js'

async function tempDir(t: { teardown: (f: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cw-dataset-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'db')
}

const sample = (i: number, label?: string, width = 4): Sample => ({
  features: Float32Array.from({ length: width }, (_, k) => i + k / 10),
  time: 1_700_000_000_000 + i,
  ...(label === undefined ? {} : { label }),
})

t.test('sample encoding round-trips and refuses corrupt records', async (t) => {
  const s = { features: Float32Array.of(1.5, -2, 3e-8), label: 'spike', time: 123.5 }
  t.same(decodeSample(encodeSample(s), 'k'), s)
  const unlabelled = { features: Float32Array.of(1), time: 0 }
  t.same(decodeSample(encodeSample(unlabelled), 'k'), unlabelled)
  const bytes = encodeSample(s)
  t.throws(() => decodeSample(bytes.subarray(0, bytes.length - 1), 'k'), { code: 'CW_DATASET_CORRUPT', details: { key: 'k' } })
  t.throws(() => decodeSample(Uint8Array.of(9, ...bytes.subarray(1)), 'k'), { code: 'CW_DATASET_CORRUPT' })
})

t.test('a count cap drops the oldest; counts and order survive a restart', async (t) => {
  const location = await tempDir(t)
  let store = await SampleStore.open({ location, maxSamples: 5 })
  t.same(await store.add([sample(0, 'a'), sample(1, 'b'), sample(2, 'a')]), { added: 3, evicted: 0 })
  t.same(await store.add([sample(3, 'b'), sample(4), sample(5, 'a'), sample(6, 'c')]), { added: 4, evicted: 2 })
  t.equal(store.size, 5)
  t.same(store.classCounts(), { classes: { a: 2, b: 1, c: 1 }, unlabelled: 1 })
  t.same((await store.all()).map((s) => s.seq), [2, 3, 4, 5, 6], 'oldest first')
  const bytes = store.bytes
  await store.close()
  await t.rejects(store.add(sample(9)), { code: 'CW_DATASET_CLOSED' })
  store = await SampleStore.open({ location, maxSamples: 5 })
  t.equal(store.size, 5)
  t.equal(store.bytes, bytes)
  t.same(store.classCounts(), { classes: { a: 2, b: 1, c: 1 }, unlabelled: 1 })
  const all = await store.all()
  t.same(all.map((s) => s.seq), [2, 3, 4, 5, 6])
  t.same(all[0]?.features, sample(2).features)
  t.equal(all[0]?.label, 'a')
  t.equal(all[0]?.time, sample(2).time)
  await store.add(sample(7, 'b'))
  t.same((await store.all()).map((s) => s.seq), [3, 4, 5, 6, 7], 'sequence numbers go on after a restart')
  t.same(store.classCounts(), { classes: { a: 1, b: 2, c: 1 }, unlabelled: 1 })
  await store.close()
  // A lower cap on reopening applies at once.
  store = await SampleStore.open({ location, maxSamples: 2 })
  t.same((await store.all()).map((s) => s.seq), [6, 7])
  t.same(store.classCounts(), { classes: { b: 1, c: 1 }, unlabelled: 0 })
  await store.clear()
  t.equal(store.size, 0)
  t.same(await store.all(), [])
  await store.close()
})

t.test('a byte cap drops the oldest, also within one add', async (t) => {
  const location = await tempDir(t)
  const one = encodeSample(sample(0, 'x', 16)).length
  const store = await SampleStore.open({ location, maxBytes: one * 3 })
  await store.add([sample(0, 'x', 16), sample(1, 'x', 16)])
  t.same(await store.add([sample(2, 'y', 16), sample(3, 'y', 16), sample(4, 'y', 16), sample(5, 'y', 16)]), { added: 4, evicted: 3 })
  t.equal(store.bytes, one * 3)
  t.same((await store.all()).map((s) => s.seq), [3, 4, 5])
  t.same(store.classCounts(), { classes: { y: 3 }, unlabelled: 0 })
  await t.rejects(store.add(sample(9, 'x', 64)), { code: 'CW_INVALID_ARGUMENT', details: { field: 'samples[0]' } })
  await store.close()
})

t.test('bad samples and options are refused; nothing is written', async (t) => {
  const location = await tempDir(t)
  const store = await SampleStore.open({ location })
  t.teardown(() => store.close())
  await t.rejects(store.add({ features: Float32Array.of(Number.NaN), time: 1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'samples[0].features' } })
  await t.rejects(store.add({ features: [1, 2] as unknown as Float32Array, time: 1 }), { code: 'CW_INVALID_ARGUMENT' })
  await t.rejects(store.add({ features: new Float32Array(0), time: 1 }), { code: 'CW_INVALID_ARGUMENT' })
  await t.rejects(store.add({ features: Float32Array.of(1), time: -1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'samples[0].time' } })
  await t.rejects(store.add({ features: Float32Array.of(1), time: 1, label: 'x'.repeat(65) }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'samples[0].label' } })
  await t.rejects(store.add([sample(1), { features: Float32Array.of(1), time: Number.NaN }]), { code: 'CW_INVALID_ARGUMENT', details: { field: 'samples[1].time' } })
  await t.rejects(store.add(null as unknown as Sample), { code: 'CW_INVALID_ARGUMENT' })
  t.equal(store.size, 0, 'a batch with one bad sample writes nothing')
  await t.rejects(SampleStore.open({ location: join(location, 'x'), maxSamples: 0 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'maxSamples' } })
  await t.rejects(SampleStore.open({ location: '' }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'location' } })
})

t.test('seeded train/validation split', async (t) => {
  const samples = Array.from({ length: 100 }, (_, i) => ({ seq: i, ...sample(i, i % 4 === 0 ? 'rare' : 'common') }))
  const a = splitSamples(samples, { validation: 0.2, seed: 5 })
  const b = splitSamples(samples, { validation: 0.2, seed: 5 })
  const c = splitSamples(samples, { validation: 0.2, seed: 6 })
  t.equal(a.validation.length, 20)
  t.equal(a.train.length, 80)
  t.same(a.validation.map((s) => s.seq), b.validation.map((s) => s.seq), 'same seed, same split')
  t.notSame(a.validation.map((s) => s.seq), c.validation.map((s) => s.seq), 'another seed, another split')
  t.equal(new Set([...a.train, ...a.validation].map((s) => s.seq)).size, 100, 'disjoint and complete')
  const strat = splitSamples(samples, { validation: 0.2, seed: 5, stratify: true })
  t.equal(strat.validation.filter((s) => s.label === 'rare').length, 5, 'stratified: 20 % of each class')
  t.throws(() => splitSamples(samples, { validation: 1, seed: 1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'validation' } })
  const data = toTrainingData(a.train.slice(0, 3), [4], ['common', 'rare'])
  t.same(data.sampleShape, [4])
  t.same(Array.from(data.labels ?? []), a.train.slice(0, 3).map((s) => (s.label === 'rare' ? 1 : 0)))
  t.same(Array.from(data.features.subarray(4, 8)), Array.from(a.train[1]?.features ?? []))
  t.throws(() => toTrainingData(a.train.slice(0, 3), [4], ['other']), { code: 'CW_INVALID_ARGUMENT' })
  t.throws(() => toTrainingData(a.train.slice(0, 3), [5]), { code: 'CW_INVALID_ARGUMENT' })
})
