// The replay driver: the ECG at its true rate and faster, plain and gzip CSV, looping, and files
// that are not what their config says.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { ReplayFormatError, SensorConfigError, SensorOpenError } from '../../../hardware/errors.js'
import { ReplaySensor, type ReplayConfig, type Reading } from '../../../hardware/sensors/index.js'
import { loadEcgMillivolts } from '../../fixtures/serial/line-emulator.js'
import { ECG_FILE, ECG_RATE, take, waitForEvent } from './helpers.js'

const ecgConfig = (speed: ReplayConfig['speed']): ReplayConfig => ({
  driver: 'replay',
  id: 'ecg',
  file: ECG_FILE,
  rate: ECG_RATE,
  speed,
  channels: [{ column: 'adc', name: 'mlii', unit: 'mV', baseline: 1024, gain: 200 }],
})

async function tempDir(t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cw-replay-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Readings per wall-clock second over `ms`, counted from the first reading. */
async function measureRate(sensor: ReplaySensor, ms: number): Promise<number> {
  const iterator = sensor.readings({ capacity: 1 << 16 })
  await take(iterator, 1)
  const started = performance.now()
  let n = 0
  sensor.on('data', () => n++)
  await new Promise((resolve) => setTimeout(resolve, ms))
  const elapsed = performance.now() - started
  await iterator.return?.()
  return (n * 1000) / elapsed
}

t.test('the whole ECG as fast as possible: every value, on the 360 Hz time base', async (t) => {
  const ecg = await loadEcgMillivolts(ECG_FILE)
  const sensor = new ReplaySensor(ecgConfig('max'))
  t.teardown(() => sensor.close())
  await sensor.open()
  t.equal(sensor.rows, 108_000, '5 minutes at 360 Hz')
  // Checked in a 'data' listener: 108 000 awaits under tap's async tracking would take seconds.
  let n = 0
  let wrongValue = 0
  let wrongTime = 0
  let first: Reading | undefined
  sensor.on('data', (r) => {
    first ??= r
    if (r.values[0] !== ecg[n]) wrongValue++
    if (Math.abs(r.t - (first.t + (n * 1000) / ECG_RATE)) > 1e-3) wrongTime++
    n++
  })
  await waitForEvent(sensor, 'end', 10_000)
  t.equal(n, 108_000, 'every row, then it ends')
  t.equal(wrongValue, 0, 'millivolts = (adc - 1024) / 200 for every row')
  t.equal(wrongTime, 0, 't advances by 1000/360 ms per reading whatever the speed')
  t.equal(sensor.status, 'ended')
  t.same(await take(sensor.readings(), 1), [], 'an ended sensor yields nothing more')
})

t.test("'max' speed waits for a slow reader instead of dropping", async (t) => {
  const sensor = new ReplaySensor(ecgConfig('max'))
  t.teardown(() => sensor.close())
  await sensor.open()
  const iterator = sensor.readings({ capacity: 16 })
  let n = 0
  for (;;) {
    const r = await iterator.next()
    if (r.done === true || ++n === 2000) break
    if (n % 100 === 0) await new Promise((resolve) => setImmediate(resolve)) // a reader that lags
  }
  await iterator.return?.()
  t.equal(n, 2000)
  t.equal(sensor.stats.dropped, 0, 'nothing dropped')
  t.ok(sensor.stats.readings < 2000 + 16 + 4096, 'and it ran at most a buffer ahead')
})

t.test('true rate and N× faster', async (t) => {
  const real = new ReplaySensor(ecgConfig(1))
  t.teardown(() => real.close())
  await real.open()
  const rate = await measureRate(real, 1000)
  t.ok(Math.abs(rate - ECG_RATE) / ECG_RATE < 0.05, `speed 1: ${rate.toFixed(1)} readings/s, within 5% of 360`)
  await real.close()

  const fast = new ReplaySensor(ecgConfig(5))
  t.teardown(() => fast.close())
  await fast.open()
  const fastRate = await measureRate(fast, 500)
  t.ok(Math.abs(fastRate - 5 * ECG_RATE) / (5 * ECG_RATE) < 0.05, `speed 5: ${fastRate.toFixed(1)} readings/s, within 5% of 1800`)
  t.equal(fast.rate, ECG_RATE, 'the nominal rate stays the recording’s')
})

t.test('plain CSV, columns by name or index, looping', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'panel.csv')
  await writeFile(file, 'time;temp;rh\n0;20.5;40\n1;21;41\n\n2;21.5;42\n')
  const sensor = new ReplaySensor({
    driver: 'replay',
    id: 'panel',
    file,
    rate: 100,
    speed: 'max',
    loop: true,
    delimiter: ';',
    channels: [
      { column: 'rh', unit: '%' },
      { column: 1, name: 'temp', unit: '°C' },
    ],
  })
  t.teardown(() => sensor.close())
  t.same(
    sensor.channels.map((c) => c.name),
    ['rh', 'temp'],
  )
  await sensor.open()
  const readings = await take(sensor.readings(), 7)
  t.same(
    readings.map((r) => [...r.values]),
    [
      [40, 20.5],
      [41, 21],
      [42, 21.5],
      [40, 20.5],
      [41, 21],
      [42, 21.5],
      [40, 20.5],
    ],
    'columns in channel order, blank lines skipped, and round again',
  )
  t.ok((sensor.stats.loops ?? 0) >= 2, 'loops are counted')

  const gz = join(dir, 'panel.csv.gz')
  await writeFile(gz, gzipSync('1,2\n3,4\n'))
  const headerless = new ReplaySensor({ driver: 'replay', id: 'gz', file: gz, rate: 10, speed: 'max', header: false, channels: [{ column: 1 }] })
  t.teardown(() => headerless.close())
  await headerless.open()
  t.same(
    (await take(headerless.readings(), 5)).map((r) => r.values[0]),
    [2, 4],
    'gzip is detected by its magic bytes; the first line is data when header is false',
  )
})

t.test('files that do not match their config', async (t) => {
  const dir = await tempDir(t)
  const write = async (name: string, text: string | Buffer): Promise<string> => {
    const file = join(dir, name)
    await writeFile(file, text)
    return file
  }
  const open = async (file: string, extra: Partial<ReplayConfig> = {}): Promise<ReplaySensor> => {
    const s = new ReplaySensor({ driver: 'replay', id: 'bad', file, rate: 10, channels: [{ column: 'v' }], ...extra })
    t.teardown(() => s.close())
    await s.open()
    return s
  }
  const cases: [string, Promise<string>, Partial<ReplayConfig>, Record<string, unknown>][] = [
    ['a missing column', write('a.csv', 'x,y\n1,2\n'), {}, { line: 1, field: 'channels.0.column' }],
    ['a column index past the end', write('b.csv', '1,2\n'), { channels: [{ column: 5 }] }, { line: 1, field: 'channels.0.column' }],
    ['a non-numeric cell', write('c.csv', 'v\n1\n2\nthree\n'), {}, { line: 4 }],
    ['a short row', write('d.csv', 'u,v\n1,2\n3\n'), {}, { line: 3 }],
    ['no data rows', write('e.csv', 'v\n\n'), {}, {}],
    ['more rows than maxRows', write('f.csv', 'v\n1\n2\n3\n'), { maxRows: 2 }, { line: 4, maxRows: 2 }],
    ['more bytes than maxBytes', write('g.csv', `v\n${'1\n'.repeat(100)}`), { maxBytes: 50 }, { maxBytes: 50 }],
    ['a gzip bomb past maxBytes', write('h.csv.gz', gzipSync(`v\n${'0\n'.repeat(500_000)}`)), { maxBytes: 1000 }, { maxBytes: 1000 }],
  ]
  for (const [what, file, extra, details] of cases) {
    const path = await file
    const err = await t.rejects(open(path, extra), ReplayFormatError, what)
    t.match((err as unknown as ReplayFormatError).details, { file: path, ...details }, `${what}: the details say where`)
  }
  await t.rejects(open(join(dir, 'missing.csv')), SensorOpenError, 'a missing file is a SensorOpenError')
  t.throws(() => new ReplaySensor({ driver: 'replay', id: 'x', file: 'f', rate: 10, channels: [{ column: 0, gain: 0 }] }), SensorConfigError, 'gain 0')
  t.throws(() => new ReplaySensor({ driver: 'replay', id: 'x', file: 'f', rate: 10, speed: 0, channels: [{ column: 0 }] }), SensorConfigError, 'speed 0')
})
