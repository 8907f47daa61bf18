// The windowing helper: hop, layouts, the three normalisations and their sources of statistics,
// labels, and the async windows() over a live sensor.

import t from 'tap'
import { InvalidArgumentError } from '../../../protocols/errors.js'
import { SensorStateError } from '../../../hardware/errors.js'
import {
  AbstractSensor,
  SyntheticSensor,
  Windower,
  generateSynthetic,
  sensorWindows,
  windows,
  type SensorWindow,
  type SyntheticConfig,
} from '../../../hardware/sensors/index.js'

const reading = (i: number, ...values: number[]): { t: number; values: Float32Array } => ({ t: i * 10, values: Float32Array.from(values) })

function feed(w: Windower, rows: number[][]): SensorWindow[] {
  const out: SensorWindow[] = []
  rows.forEach((values, i) => {
    const win = w.push(reading(i, ...values))
    if (win !== undefined) out.push(win)
  })
  return out
}

const rows = Array.from({ length: 10 }, (_, i) => [i, 100 + i])

t.test('fixed windows with hop, in both layouts', async (t) => {
  const first = feed(new Windower({ channels: 2, length: 4, hop: 2 }), rows)
  t.equal(first.length, 4, 'windows end at readings 4, 6, 8 and 10')
  t.same(first[0]?.shape, [2, 4], 'channels-first: [channels, length]')
  t.same([...(first[0]?.data ?? [])], [0, 1, 2, 3, 100, 101, 102, 103], "each channel's samples contiguous")
  t.same([...(first[1]?.data ?? [])], [2, 3, 4, 5, 102, 103, 104, 105], 'the next window starts hop readings later')
  t.same([first[3]?.start, first[3]?.end, first[3]?.index], [60, 90, 3], 'times of its first and last reading, and its index')

  const last = feed(new Windower({ channels: 2, length: 4, hop: 2, layout: 'channels-last' }), rows)
  t.same(last[0]?.shape, [4, 2], 'channels-last: [length, channels]')
  t.same([...(last[0]?.data ?? [])], [0, 100, 1, 101, 2, 102, 3, 103], 'one row per reading')

  t.equal(feed(new Windower({ channels: 2, length: 3 }), rows).length, 3, 'hop defaults to length: no overlap')
  const sparse = feed(new Windower({ channels: 2, length: 2, hop: 5 }), rows)
  t.same(
    sparse.map((w) => [...w.data.slice(0, 2)]),
    [
      [0, 1],
      [5, 6],
    ],
    'a hop longer than the window skips readings',
  )
})

t.test('z-score and min-max normalisation', async (t) => {
  const given = feed(
    new Windower({ channels: 2, length: 4, normalise: { kind: 'z-score', stats: { mean: [1.5, 100], std: [2, 0.5] } } }),
    rows.slice(0, 4),
  )[0]
  t.same([...(given?.data ?? [])].map((v) => +v.toFixed(4)), [-0.75, -0.25, 0.25, 0.75, 0, 2, 4, 6], 'given mean and std')

  const own = feed(new Windower({ channels: 2, length: 4, normalise: { kind: 'z-score', stats: 'window' } }), rows.slice(0, 4))[0]
  const ch0 = [...(own?.data ?? [])].slice(0, 4)
  t.ok(Math.abs(ch0.reduce((a, b) => a + b, 0)) < 1e-5, "the window's own stats: mean 0")
  t.ok(Math.abs(ch0.reduce((a, b) => a + b * b, 0) / 4 - 1) < 1e-4, 'and variance 1')

  const running = new Windower({ channels: 1, length: 2, normalise: { kind: 'z-score', stats: 'running' } })
  const rs = feed(running, [[0], [2], [4], [6]])
  // after 4 readings the running mean is 3 and the population std √5
  t.same([...(rs[1]?.data ?? [])].map((v) => +v.toFixed(4)), [+(1 / Math.sqrt(5)).toFixed(4), +(3 / Math.sqrt(5)).toFixed(4)], 'running stats over every reading so far')

  const mm = feed(new Windower({ channels: 2, length: 5, normalise: { kind: 'min-max', stats: 'window' } }), rows.slice(0, 5))[0]
  t.same([...(mm?.data ?? [])].map((v) => +v.toFixed(4)), [0, 0.25, 0.5, 0.75, 1, 0, 0.25, 0.5, 0.75, 1], 'min-max into [0, 1]')
  const mmGiven = feed(new Windower({ channels: 1, length: 2, normalise: { kind: 'min-max', stats: { min: [0], max: [10] } } }), [[5], [10]])[0]
  t.same([...(mmGiven?.data ?? [])].map((v) => +v.toFixed(4)), [0.5, 1], 'given min and max')
  const mmRunning = feed(new Windower({ channels: 1, length: 1, normalise: { kind: 'min-max', stats: 'running' } }), [[0], [10], [5]])
  t.equal(+(mmRunning[2]?.data[0] ?? NaN).toFixed(4), 0.5, 'running min and max')

  const flat = feed(new Windower({ channels: 1, length: 3, normalise: { kind: 'z-score', stats: 'window' } }), [[7], [7], [7]])[0]
  t.same([...(flat?.data ?? [])], [0, 0, 0], 'a flat channel becomes zeros, not NaN')
})

t.test('labels: the first anomaly in the window', async (t) => {
  const w = new Windower({ channels: 1, length: 3, hop: 1 })
  const labels = ['normal', 'normal', 'spike', 'normal', 'normal', 'normal']
  const out = labels.map((label, i) => w.push({ t: i, values: Float32Array.of(i), label })).filter((x) => x !== undefined)
  t.same(
    out.map((x) => x.label),
    ['spike', 'spike', 'spike', 'normal'],
    'a window is anomalous while it holds the anomaly',
  )
  const unlabelled = new Windower({ channels: 1, length: 1 }).push(reading(0, 1))
  t.notOk(unlabelled !== undefined && 'label' in unlabelled, 'no label when readings carry none')
})

t.test('bad options and readings are InvalidArgumentErrors naming the field', async (t) => {
  const cases: [string, () => unknown, string][] = [
    ['channels 0', () => new Windower({ channels: 0, length: 4 }), 'channels'],
    ['length 0', () => new Windower({ channels: 1, length: 0 }), 'length'],
    ['fractional hop', () => new Windower({ channels: 1, length: 4, hop: 1.5 }), 'hop'],
    ['layout', () => new Windower({ channels: 1, length: 4, layout: 'nchw' as never }), 'layout'],
    ['stats length', () => new Windower({ channels: 2, length: 4, normalise: { kind: 'z-score', stats: { mean: [0], std: [1, 1] } } }), 'normalise.stats.mean'],
    ['std 0', () => new Windower({ channels: 1, length: 4, normalise: { kind: 'z-score', stats: { mean: [0], std: [0] } } }), 'normalise.stats.std.0'],
    ['NaN mean', () => new Windower({ channels: 1, length: 4, normalise: { kind: 'z-score', stats: { mean: [NaN], std: [1] } } }), 'normalise.stats.mean.0'],
    ['max ≤ min', () => new Windower({ channels: 1, length: 4, normalise: { kind: 'min-max', stats: { min: [1], max: [1] } } }), 'normalise.stats.max.0'],
    ['kind', () => new Windower({ channels: 1, length: 4, normalise: { kind: 'softmax' } as never }), 'normalise.kind'],
    ['reading width', () => new Windower({ channels: 2, length: 4 }).push(reading(0, 1)), 'reading.values'],
  ]
  for (const [what, fn, field] of cases) {
    const err = t.throws(fn, InvalidArgumentError, what) as InvalidArgumentError
    t.equal(err.details.field, field, `${what}: names ${field}`)
  }
  const stats = { mean: [0], std: [1] }
  const w = new Windower({ channels: 1, length: 2, normalise: { kind: 'z-score', stats } })
  stats.mean[0] = 100
  t.same([...(feed(w, [[1], [2]])[0]?.data ?? [])], [1, 2], 'the options are copied: changing them later has no effect')
})

t.test('windows() over a live sensor, ending on abort', async (t) => {
  const config: SyntheticConfig = {
    driver: 'synthetic',
    id: 'w',
    rate: 1000,
    speed: 'max',
    seed: 3,
    length: 1000,
    channels: [{ name: 'a', sinusoids: [{ frequency: 10, amplitude: 1 }], noise: 0.1 }],
  }
  const sensor = new SyntheticSensor(config)
  t.teardown(() => sensor.close())
  await sensor.open()
  const got: SensorWindow[] = []
  for await (const w of windows(sensor.readings(), { channels: 1, length: 100, hop: 50 })) got.push(w)
  t.equal(got.length, 19, '1000 readings make 19 windows of 100 with hop 50')
  const truth = generateSynthetic(config, 1000).values
  t.same([...(got[18]?.data ?? [])], truth.slice(900, 1000).map((v) => v[0]), 'the last window holds readings 900–999 exactly')

  const { length: _finite, ...rest } = config
  const endless = new SyntheticSensor({ ...rest, id: 'endless', speed: 1 })
  t.teardown(() => endless.close())
  await endless.open()
  const controller = new AbortController()
  let n = 0
  for await (const w of windows(endless.readings(), { channels: 1, length: 10 }, { signal: controller.signal })) {
    t.equal(w.data.length, 10)
    if (++n === 2) controller.abort()
  }
  t.equal(n, 2, 'the loop ends on abort')
})

/** A sensor the test drives by hand. */
class HandSensor extends AbstractSensor {
  constructor() {
    super({
      id: 'hand',
      driver: 'hand',
      rate: 1,
      channels: [{ name: 'a', unit: '1' }],
      supports: { reconnect: true, realtime: true, speed: false, labels: false, finite: true, badInputStats: false },
    })
  }
  protected override async _open(): Promise<void> {}
  protected override async _close(): Promise<void> {}
  push(v: number): void {
    this._push(Float32Array.of(v), v)
  }
  unplug(): void {
    this._disconnected(new Error('unplugged'))
  }
  replug(): void {
    this._reconnected()
  }
  end(): void {
    this._ended()
  }
}

t.test('sensorWindows(): windows from the events, gaps at disconnections', async (t) => {
  const sensor = new HandSensor()
  t.throws(() => sensorWindows(sensor, { channels: 1, length: 2 }), SensorStateError, 'not on a closed sensor')
  await sensor.open()
  t.throws(() => sensorWindows(sensor, { channels: 2, length: 2 }), InvalidArgumentError, 'channels must match the sensor')
  t.throws(() => sensorWindows(sensor, { channels: 1, length: 2 }, { capacity: 0 }), InvalidArgumentError)
  const it = sensorWindows(sensor, { channels: 1, length: 3, hop: 1 }, { capacity: 2 })
  for (const v of [1, 2, 3, 4]) sensor.push(v)
  sensor.unplug()
  sensor.replug()
  for (const v of [10, 11, 12]) sensor.push(v)
  sensor.end()
  const got: number[][] = []
  for await (const w of it) got.push([...w.data])
  t.same(got, [[2, 3, 4], [10, 11, 12]], 'the oldest window was dropped; none spans the disconnection; it ends with the sensor')
  t.equal(it.dropped, 1, 'the dropped window is counted')
  await sensor.close()
})

t.test('sensorWindows() gives the same windows as windows(readings())', async (t) => {
  const config: SyntheticConfig = { driver: 'synthetic', id: 'same', rate: 1000, speed: 5, seed: 9, length: 2000, channels: [{ name: 'a', noise: 1 }, { name: 'b', sinusoids: [{ frequency: 50, amplitude: 2 }] }] }
  const options = { channels: 2, length: 64, hop: 32, layout: 'channels-last', normalise: { kind: 'min-max', stats: 'running' } } as const
  const viaEvents = new SyntheticSensor(config)
  const viaIterator = new SyntheticSensor({ ...config, id: 'same2' })
  t.teardown(async () => {
    await viaEvents.close()
    await viaIterator.close()
  })
  await viaEvents.open()
  await viaIterator.open()
  const controller = new AbortController()
  const [a, b] = await Promise.all([
    (async () => {
      const out: SensorWindow[] = []
      for await (const w of sensorWindows(viaEvents, options, { signal: controller.signal })) out.push(w)
      return out
    })(),
    (async () => {
      const out: SensorWindow[] = []
      for await (const w of windows(viaIterator.readings({ capacity: 4096 }), options)) out.push(w)
      return out
    })(),
  ])
  t.equal(a.length, 61, '2000 readings, 64/32: 61 windows')
  t.equal(b.length, a.length)
  t.equal(a.filter((w, i) => w.data.some((v, k) => !Object.is(v, b[i]?.data[k]))).length, 0, 'identical data')
})
