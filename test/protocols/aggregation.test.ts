import t from 'tap'
import { getAddress, type Address } from 'viem'
import {
  CoordinateMedian,
  FedAdagrad,
  FedAdam,
  FedAvg,
  FedProx,
  FedYogi,
  Krum,
  TrimmedMean,
  squaredNorm,
  withClipping,
  type ClientUpdate,
  type NamedTensor,
  type Strategy,
} from '../../protocols/index.js'

const device = (i: number): Address => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`)
const tensor = (name: string, values: number[], shape = [values.length]): NamedTensor<'float32'> => ({ name, dtype: 'float32', shape, data: Float32Array.from(values) })
const base = [tensor('b', [0, 0]), tensor('w', [1, 1, 1, 1], [2, 2])]
const update = (i: number, b: number[], w: number[], sampleCount = 1): ClientUpdate => ({ device: device(i), sampleCount, delta: [tensor('b', b), tensor('w', w, [2, 2])] })
const values = (ts: readonly NamedTensor<'float32'>[]) => ts.map((x) => Array.from(x.data))

async function* stream<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item
}

t.test('FedAvg is the sample-weighted mean, streamed', async (t) => {
  const updates = [update(0, [1, 2], [1, 0, 0, 0], 1), update(1, [3, 6], [0, 0, 0, 3], 3)]
  const result = await new FedAvg().aggregate(base, stream(updates))
  t.same(values(result.weights), [[2.5, 5], [1.25, 1, 1, 3.25]])
  t.same(result.used, [device(0), device(1)])
  t.same(result.state, [])
  const again = await new FedAvg().aggregate(base, updates)
  t.same(values(again.weights), values(result.weights), 'an iterable gives the same result as a stream')
  t.same(new FedAvg().configure(), { strategy: 'fedavg', params: {} })
})

t.test('results are bit-for-bit reproducible', async (t) => {
  let seed = 7
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1
  const updates = Array.from({ length: 50 }, (_, i) => update(i, [rand() * 1e-3, rand() * 1e3], [rand(), rand() * 1e-7, rand(), rand() * 1e5], 1 + (i % 7)))
  const strategies: Strategy[] = [new FedAvg(), new FedAdam(), new FedYogi(), new FedAdagrad(), new CoordinateMedian(), new TrimmedMean(), new CoordinateMedian({ weighted: true }), new TrimmedMean({ trim: 0.15, weighted: true }), new Krum({ byzantine: 5, select: 10 })]
  for (const strategy of strategies) {
    const one = await strategy.aggregate(base, updates)
    const two = await strategy.aggregate(base, stream(updates))
    const bits = (r: typeof one) => r.weights.map((w) => Buffer.from(w.data.buffer).toString('hex')).join()
    t.equal(bits(one), bits(two), `${strategy.name}: same bits twice`)
  }
})

t.test('FedProx announces μ and aggregates like FedAvg', async (t) => {
  const updates = [update(0, [1, 2], [1, 0, 0, 0]), update(1, [3, 4], [0, 1, 0, 0])]
  const prox = new FedProx({ mu: 0.01 })
  t.same(prox.configure(), { strategy: 'fedprox', params: { mu: 0.01 } })
  t.same(values((await prox.aggregate(base, updates)).weights), values((await new FedAvg().aggregate(base, updates)).weights))
  t.throws(() => new FedProx({ mu: -1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'mu' } })
})

t.test('server optimisers follow Reddi et al. Algorithm 2 and carry their state', async (t) => {
  const updates = [update(0, [0.2, -0.4], [0, 0, 0, 0]), update(1, [0.2, -0.4], [0, 0, 0, 0])]
  const lr = 0.1
  const beta1 = 0.9
  const beta2 = 0.99
  const tau = 1e-3
  for (const [Strategy, v1] of [
    [FedAdam, (g2: number) => (1 - beta2) * g2],
    [FedYogi, (g2: number) => (1 - beta2) * g2], // v0 = 0 < g², so sign(v - g²) = -1
    [FedAdagrad, (g2: number) => g2],
  ] as const) {
    const strategy = new Strategy({ lr, beta1, beta2, tau })
    const first = await strategy.aggregate(base, updates)
    const expected = (g: number) => Math.fround((lr * (1 - beta1) * g) / (Math.sqrt(v1(g * g)) + tau))
    t.same(Array.from(first.weights[0]?.data ?? []), [expected(0.2), expected(-0.4)], `${strategy.name}: first step`)
    t.same(first.state.map((s) => s.name), ['m/b', 'm/w', 'v/b', 'v/w'], `${strategy.name}: moments are state`)
    const second = await strategy.aggregate(first.weights, updates, first.state)
    const fresh = await strategy.aggregate(first.weights, updates)
    t.not(Array.from(second.weights[0]?.data ?? []).join(), Array.from(fresh.weights[0]?.data ?? []).join(), `${strategy.name}: state changes the second step`)
  }
  t.throws(() => new FedAdam({ beta1: 2 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'beta1' } })
  await t.rejects(new FedAdam().aggregate(base, updates, [tensor('m/b', [1, 2, 3])]), { code: 'CW_INVALID_ARGUMENT', details: { field: 'state.m/b' } })
})

t.test('robust strategies resist sign-flipped, scaled attackers', async (t) => {
  const honest = Array.from({ length: 8 }, (_, i) => update(i, [1 + i * 0.01, -1], [0.5, 0.5, 0.5, 0.5]))
  const attackers = [8, 9].map((i) => update(i, [-10, 10], [-5, -5, -5, -5]))
  const all = [...honest, ...attackers]
  const honestMean = (await new FedAvg().aggregate(base, honest)).weights
  const gap = (ws: readonly NamedTensor<'float32'>[]) => Math.sqrt(squaredNorm(ws.map((w, i) => ({ ...w, data: w.data.map((v, j) => v - ((honestMean[i]?.data[j] ?? 0) as number)) }))))
  const fedavg = gap((await new FedAvg().aggregate(base, all)).weights)
  t.ok(fedavg > 2, `FedAvg is pulled away (${fedavg.toFixed(2)})`)
  for (const strategy of [new CoordinateMedian(), new TrimmedMean({ trim: 0.2 }), new Krum({ byzantine: 2 }), new Krum({ byzantine: 2, select: 4 })]) {
    const result = await strategy.aggregate(base, all)
    const g = gap(result.weights)
    t.ok(g < 0.1, `${strategy.name} stays with the honest mean (${g.toFixed(3)})`)
    if (strategy instanceof Krum) t.notOk(result.used.some((d) => d === device(8) || d === device(9)), `${strategy.name} selects no attacker`)
  }
  const median = await new CoordinateMedian().aggregate(base, [update(0, [1, 5], [0, 0, 0, 0]), update(1, [2, 6], [0, 0, 0, 0]), update(2, [9, 7], [0, 0, 0, 0]), update(3, [4, 100], [0, 0, 0, 0])])
  t.same(Array.from(median.weights[0]?.data ?? []), [3, 6.5], 'even count: the mean of the middle two')
  await t.rejects(new Krum({ byzantine: 2 }).aggregate(base, honest.slice(0, 6)), { code: 'CW_INVALID_ARGUMENT', details: { field: 'updates' } }, 'Krum needs n > 2f + 2')
})

t.test('weighted median and trimmed mean weigh each value by its sample count', async (t) => {
  // One coordinate per device; the base is zero, so the new weights are the aggregate itself.
  const zero = [tensor('x', [0])]
  const one = (i: number, x: number, sampleCount: number): ClientUpdate => ({ device: device(i), sampleCount, delta: [tensor('x', [x])] })
  const agg = async (strategy: Strategy, updates: ClientUpdate[]) => (await strategy.aggregate(zero, updates)).weights[0]?.data[0]
  const median = new CoordinateMedian({ weighted: true })
  t.same(median.configure(), { strategy: 'median', params: { weighted: 1 } })

  // Values 1, 2, 10 with 1, 1 and 5 samples: the cumulative weight 1, 2, 7 passes half of 7 at 10.
  const skewed = [one(0, 2, 1), one(1, 10, 5), one(2, 1, 1)]
  t.equal(await agg(median, skewed), 10, 'the value holding most samples wins')
  t.equal(await agg(new CoordinateMedian(), skewed), 2, 'one vote per device: the middle value')
  // Values 1 and 3 with 2 samples each: the cumulative weight lands exactly on half, so the mean of the two.
  t.equal(await agg(median, [one(0, 3, 2), one(1, 1, 2)]), 2, 'exactly half: the mean of the two values around it')
  // Values 4, 4, 9 with 1, 1, 3 samples: ties in value add their weights (2 of 5 < half), so 9.
  t.equal(await agg(median, [one(0, 4, 1), one(1, 9, 3), one(2, 4, 1)]), 9, 'equal values add their weights')

  // Values 0, 4, 8 with 1, 2, 1 samples, trim 0.25: a quarter of 4 is cut at each end, leaving the 2 samples of 4.
  const trimmed = new TrimmedMean({ trim: 0.25, weighted: true })
  t.same(trimmed.configure(), { strategy: 'trimmed-mean', params: { trim: 0.25, weighted: 1 } })
  t.equal(await agg(trimmed, [one(0, 0, 1), one(1, 4, 2), one(2, 8, 1)]), 4, 'the cut weight is dropped from each end')
  // Values 0 and 10 with 3 and 1 samples, trim 0.2: weight 0.8 is cut from each end of 4, leaving
  // 2.2 samples of 0 and 0.2 of 10, a value straddling a cut counting with the part inside.
  const near = (actual: number | undefined, expected: number, what: string) => t.ok(Math.abs((actual ?? Number.NaN) - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${what}: ${actual} ≈ ${expected} (float32)`)
  near(await agg(new TrimmedMean({ trim: 0.2, weighted: true }), [one(0, 0, 3), one(1, 10, 1)]), (0.2 * 10) / 2.4, 'a straddling value counts with the part of its weight inside')
  // Values 1, 3, 1000 with 10, 10, 1 samples, trim 0.2: 4.2 of 21 cut at each end leaves 5.8 samples
  // of 1 and 6.8 of 3; the outlier is cut entirely (one vote per device, trim 0.2 of 3 cuts nothing).
  const outlier = [one(0, 1, 10), one(1, 1000, 1), one(2, 3, 10)]
  near(await agg(new TrimmedMean({ trim: 0.2, weighted: true }), outlier), (1 * 5.8 + 3 * 6.8) / 12.6, 'an outlier with 1 of 21 samples is cut')
  near(await agg(new TrimmedMean({ trim: 0.2 }), outlier), 1004 / 3, 'one vote per device keeps it')
})

t.test('with equal sample counts the weighted rules are the unweighted ones', async (t) => {
  let seed = 11
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1
  const bits = (ws: readonly NamedTensor<'float32'>[]) => ws.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength).toString('hex')).join()
  for (const n of [9, 10]) {
    for (const samples of [1, 7]) {
      const updates = Array.from({ length: n }, (_, i) => update(i, [rand(), rand() * 100], [rand(), rand() * 1e-4, rand(), -rand()], samples))
      const pairs: [Strategy, Strategy][] = [
        [new CoordinateMedian({ weighted: true }), new CoordinateMedian()],
        // trim × n is a whole number of devices here (0.2 × 10, 0 × 9), as it must be for the two to agree.
        [new TrimmedMean({ trim: n === 10 ? 0.2 : 0, weighted: true }), new TrimmedMean({ trim: n === 10 ? 0.2 : 0 })],
      ]
      for (const [weighted, plain] of pairs) {
        const a = (await weighted.aggregate(base, updates)).weights
        const b = (await plain.aggregate(base, updates)).weights
        if (weighted instanceof CoordinateMedian || samples === 1) t.equal(bits(a), bits(b), `${weighted.name}, n = ${n}, ${samples} samples each: same bits`)
        else a.forEach((w, i) => w.data.forEach((v, j) => t.ok(Math.abs(v - (b[i]?.data[j] as number)) <= 1e-6 * Math.max(1, Math.abs(v)), `${weighted.name}, n = ${n}, ${samples} samples each: ${w.name}[${j}] agrees`)))
      }
    }
  }
  // Determinism: the same held updates give the same bits whatever the sample counts tie-break.
  const ties = Array.from({ length: 6 }, (_, i) => update(i, [i % 2, 1], [0, 0, 0, 0], 1 + (i % 3)))
  for (const strategy of [new CoordinateMedian({ weighted: true }), new TrimmedMean({ trim: 0.25, weighted: true })]) {
    const once = bits((await strategy.aggregate(base, ties)).weights)
    t.equal(bits((await strategy.aggregate(base, stream(ties))).weights), once, `${strategy.name}: equal values in device order, same bits again`)
  }
})

t.test('clipping wraps any strategy', async (t) => {
  const big = update(0, [30, 40], [0, 0, 0, 0])
  const clipped = withClipping(new FedAvg(), 5)
  t.same(clipped.configure(), { strategy: 'clipped-fedavg', params: { maxNorm: 5 } })
  const result = await clipped.aggregate(base, [big])
  t.same(Array.from(result.weights[0]?.data ?? []), [3, 4], 'a norm-50 delta is scaled to norm 5')
  const small = await clipped.aggregate(base, [update(0, [0.3, 0.4], [0, 0, 0, 0])])
  t.same(Array.from(small.weights[0]?.data ?? []), [0.30000001192092896, 0.4000000059604645], 'a small delta is untouched')
  t.throws(() => withClipping(new FedAvg(), 0), { code: 'CW_INVALID_ARGUMENT', details: { field: 'maxNorm' } })
})

t.test('bad updates are refused with the field named', async (t) => {
  const good = update(0, [1, 2], [0, 0, 0, 0])
  const cases: [string, ClientUpdate[], string][] = [
    ['devices out of order', [update(1, [1, 1], [0, 0, 0, 0]), good], 'updates.1.device'],
    ['a device twice', [good, good], 'updates.1.device'],
    ['zero samples', [{ ...good, sampleCount: 0 }], 'updates.0.sampleCount'],
    ['a missing tensor', [{ ...good, delta: good.delta.slice(0, 1) }], 'updates.0.delta'],
    ['a wrong shape', [{ ...good, delta: [good.delta[0] as NamedTensor<'float32'>, tensor('w', [0, 0, 0, 0], [4])] }], 'updates.0.delta.1'],
    ['a NaN', [{ ...good, delta: [tensor('b', [Number.NaN, 0]), good.delta[1] as NamedTensor<'float32'>] }], 'updates.0.delta.0'],
    ['a bad device', [{ ...good, device: '0x12' as Address }], 'updates.0.device'],
    ['no update at all', [], 'updates'],
  ]
  for (const [what, updates, field] of cases) await t.rejects(new FedAvg().aggregate(base, updates), { code: 'CW_INVALID_ARGUMENT', details: { field } }, what)
})

t.test('strategyFor rebuilds every strategy from what it announces', async (t) => {
  const { strategyFor } = await import('../../protocols/index.js')
  const all: Strategy[] = [new FedAvg(), new FedProx({ mu: 0.1 }), new FedAdam({ lr: 0.2 }), new FedYogi(), new FedAdagrad({ tau: 0.01 }), new CoordinateMedian(), new CoordinateMedian({ weighted: true }), new TrimmedMean({ trim: 0.3 }), new TrimmedMean({ trim: 0.1, weighted: true }), new Krum({ byzantine: 1 }), new Krum({ byzantine: 1, select: 3 }), withClipping(new FedAdam(), 2)]
  for (const strategy of all) {
    const { strategy: name, params } = strategy.configure()
    t.same(strategyFor(name, params).configure(), strategy.configure(), name)
  }
  t.same(strategyFor('median', { weighted: 0 }).configure(), new CoordinateMedian().configure(), 'weighted: 0 is the unweighted rule')
  for (const name of ['median', 'trimmed-mean']) t.throws(() => strategyFor(name, { weighted: 2 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'params.weighted' } }, `${name}: weighted is 0 or 1`)
  t.throws(() => strategyFor('fedsgd'), { code: 'CW_INVALID_ARGUMENT', details: { field: 'strategy' } })
  t.throws(() => strategyFor('clipped-fedavg'), { code: 'CW_INVALID_ARGUMENT', details: { field: 'params.maxNorm' } })
})
