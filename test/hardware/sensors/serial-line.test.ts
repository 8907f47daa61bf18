// The serial-line driver over real pseudo-terminals: the ECG end to end at 360 Hz from the serial
// sensor emulator, the three line formats, and bad input that is counted, never fatal.

import t from 'tap'
import { SensorConfigError, SensorOpenError } from '../../../hardware/errors.js'
import { SerialLineSensor, formatNmea, type Reading, type SerialLineConfig } from '../../../hardware/sensors/index.js'
import { loadEcgMillivolts, startLineEmulator } from '../../fixtures/serial/line-emulator.js'
import { createPtyPair, type PtyPair } from '../../fixtures/serial/pty-pair.js'
import { ECG_FILE, ECG_RATE, take, until } from './helpers.js'

const ECG_SECONDS = 3

async function pair(t: { teardown: (fn: () => unknown) => void }): Promise<PtyPair> {
  const p = await createPtyPair()
  t.teardown(() => p.dispose())
  return p
}

function sensorOn(t: { teardown: (fn: () => unknown) => void }, config: Omit<SerialLineConfig, 'driver' | 'id' | 'rate'> & { rate?: number }): SerialLineSensor {
  const sensor = new SerialLineSensor({ driver: 'serial-line', id: 'line', rate: 100, ...config })
  t.teardown(() => sensor.close())
  return sensor
}

t.test('the ECG through the serial sensor emulator: values end to end, rate within 5%', async (t) => {
  const ecg = await loadEcgMillivolts(ECG_FILE)
  const p = await pair(t)
  const sensor = sensorOn(t, {
    path: p.a,
    rate: ECG_RATE,
    format: { kind: 'csv', channels: [{ name: 'index' }, { name: 'mlii', unit: 'mV' }] },
  })
  await sensor.open()
  const iterator = sensor.readings({ capacity: 4096 })
  const count = ECG_SECONDS * ECG_RATE
  // The emulator prints `index,millivolts` like a sketch would, after a banner the driver skips.
  const emulator = await startLineEmulator({
    path: p.b,
    rate: ECG_RATE,
    preamble: '# ECG MIT-BIH 208, lead MLII, 360 Hz',
    line: (i) => (i < count ? `${i},${(ecg[i] as number).toFixed(3)}` : undefined),
  })
  t.teardown(() => emulator.stop())
  const readings = await take(iterator, count, (ECG_SECONDS + 5) * 1000)
  await emulator.done
  t.equal(readings.length, count, `${count} readings`)
  let wrong = 0
  readings.forEach((r, i) => {
    if (r.values[0] !== i || r.values[1] !== ecg[i]) wrong++
  })
  t.equal(wrong, 0, 'every reading carries the next sample, in order, with the recorded millivolts')
  const first = readings[0] as Reading
  const last = readings[readings.length - 1] as Reading
  const rate = ((readings.length - 1) * 1000) / (last.t - first.t)
  t.ok(Math.abs(rate - ECG_RATE) / ECG_RATE < 0.05, `rate ${rate.toFixed(1)} Hz is within 5% of ${ECG_RATE} Hz`)
  t.match(sensor.stats, { readings: count, partial: 1, garbage: 0, overlong: 0, nonNumeric: 0, wrongFieldCount: 0, dropped: 0 })
})

t.test('bad input on the line is counted and never stops the driver', async (t) => {
  const p = await pair(t)
  const sensor = sensorOn(t, {
    path: p.a,
    maxLineLength: 32,
    format: { kind: 'csv', channels: [{ name: 'a' }, { name: 'b' }] },
  })
  const statuses: string[] = []
  sensor.on('status', (s) => statuses.push(s))
  await sensor.open()
  const data: Reading[] = []
  sensor.on('data', (r) => data.push(r))
  const emulator = await startLineEmulator({ path: p.b, rate: 1, line: () => undefined })
  t.teardown(() => emulator.stop())
  await emulator.write('ignored first line\n')
  await emulator.write('1,2\r\n') // good
  await emulator.write(Buffer.from([0x00, 0xff, 0xfe, 0x31, 0x2c, 0x32, 0x0a])) // garbage bytes then 1,2
  await emulator.write(`${'9'.repeat(40)},1\n`) // over the 32-byte cap
  await emulator.write('x'.repeat(200)) // garbage without a newline: never buffered beyond the cap …
  await emulator.write('\n') // … and counted as over-long once it ends
  await emulator.write('abc,1\n') // non-numeric
  await emulator.write('0x10,1\n') // hex is not a sensor value
  await emulator.write('1e999,1\n') // beyond float32
  await emulator.write(',1\n') // empty field
  await emulator.write('1,2,3\n') // too many fields
  await emulator.write('7\n') // too few
  await emulator.write('\n') // blank lines are skipped silently
  await emulator.write('3,4\n') // good
  await emulator.write('5,6') // a partial line, cut by the close below
  await until(() => data.length === 2, 5_000, 'the two good readings')
  // nothing more arrives for the partial line until it ends
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(
    data.map((r) => [...r.values]),
    [
      [1, 2],
      [3, 4],
    ],
    'only the good lines became readings',
  )
  t.equal(sensor.status, 'open', 'still open')
  await sensor.close()
  t.match(sensor.stats, {
    readings: 2,
    garbage: 1,
    overlong: 2,
    nonNumeric: 4,
    wrongFieldCount: 2,
    partial: 2, // the first line after open, and the line cut by close
  })
  t.same(statuses, ['opening', 'open', 'closing', 'closed'], 'no failure or disconnection on the way')
})

t.test('key=value lines', async (t) => {
  const p = await pair(t)
  const sensor = sensorOn(t, {
    path: p.a,
    baudRate: 9600,
    skipFirstLine: false,
    format: { kind: 'key-value', channels: [{ name: 't', unit: '°C' }, { name: 'rh', unit: '%' }] },
  })
  await sensor.open()
  const iterator = sensor.readings()
  const emulator = await startLineEmulator({ path: p.b, baudRate: 9600, rate: 1, line: () => undefined })
  t.teardown(() => emulator.stop())
  await emulator.write('t=21.5 rh=40\nrh:41,t:22 p=1013\nt=23\nt=abc rh=1\njunk here\nt=24;rh=42\n')
  const readings = await take(iterator, 3)
  t.same(
    readings.map((r) => [...r.values]),
    [
      [21.5, 40],
      [22, 41],
      [24, 42],
    ],
    'keys in any order and with any separator; extra keys ignored',
  )
  t.equal(readings[0]?.unit, '°C,%')
  t.match(sensor.stats, { missingKey: 1, nonNumeric: 1, malformed: 1 })
})

t.test('NMEA 0183 sentences with checksums', async (t) => {
  const p = await pair(t)
  const sensor = sensorOn(t, { path: p.a, baudRate: 4800, skipFirstLine: false, format: { kind: 'nmea', sentence: 'GGA' } })
  t.same(
    sensor.channels.map((c) => c.name),
    ['latitude', 'longitude', 'quality', 'satellites', 'hdop', 'altitude'],
    'the GGA preset',
  )
  await sensor.open()
  const iterator = sensor.readings()
  const emulator = await startLineEmulator({ path: p.b, baudRate: 4800, rate: 1, line: () => undefined })
  t.teardown(() => emulator.stop())
  const gga = 'GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'
  const good = formatNmea(gga)
  t.equal(good, '$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47', 'the textbook GGA checksum')
  const wrongSum = good.slice(0, -2) + '48'
  const noFix = formatNmea('GPGGA,123520,,,,,0,00,,,M,,M,,')
  const rmc = formatNmea('GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W')
  const south = formatNmea('GNGGA,000001,3352.128,S,15112.558,W,2,10,1.1,12.0,M,0,M,,')
  await emulator.write([good, wrongSum, gga, noFix, rmc, '$GP*12', south].join('\r\n') + '\r\n')
  const readings = await take(iterator, 2)
  const [first, second] = readings.map((r) => [...r.values])
  t.ok(first !== undefined && Math.abs((first[0] as number) - (48 + 7.038 / 60)) < 1e-4, 'latitude 48°07.038′N in degrees')
  t.ok(first !== undefined && Math.abs((first[1] as number) - (11 + 31 / 60)) < 1e-4, 'longitude 11°31.000′E in degrees')
  t.same(first?.slice(2), [1, 8, Math.fround(0.9), Math.fround(545.4)], 'quality, satellites, HDOP, altitude')
  t.ok(second !== undefined && (second[0] as number) < 0 && (second[1] as number) < 0, 'south and west are negative')
  t.match(sensor.stats, { badChecksum: 2, nonNumeric: 1, ignoredSentence: 1, malformed: 1, readings: 2 })
})

t.test('a talker filter and custom NMEA fields', async (t) => {
  const p = await pair(t)
  const sensor = sensorOn(t, {
    path: p.a,
    skipFirstLine: false,
    format: { kind: 'nmea', sentence: 'XDR', talker: 'WI', fields: [{ index: 2, name: 'pressure', unit: 'bar' }] },
  })
  await sensor.open()
  const iterator = sensor.readings()
  const emulator = await startLineEmulator({ path: p.b, rate: 1, line: () => undefined })
  t.teardown(() => emulator.stop())
  await emulator.write(`${formatNmea('IIXDR,P,0.9,B,BARO')}\n${formatNmea('WIXDR,P,1.0132,B,BARO')}\n`)
  const [reading] = await take(iterator, 1)
  t.same(reading === undefined ? [] : [...reading.values], [Math.fround(1.0132)])
  t.match(sensor.stats, { ignoredSentence: 1 })
})

t.test('config and open errors', async (t) => {
  const base = { driver: 'serial-line', id: 's', path: '/dev/null', rate: 10, format: { kind: 'csv', channels: [{ name: 'a' }] } } as const
  const cases: [string, Record<string, unknown>, string][] = [
    ['baud rate', { baudRate: 12345 }, 'baudRate'],
    ['line cap', { maxLineLength: 1_000_000 }, 'maxLineLength'],
    ['format kind', { format: { kind: 'xml' } }, 'format.kind'],
    ['channel name', { format: { kind: 'csv', channels: [{ name: 'a b' }] } }, 'format.channels.0.name'],
    ['duplicate channels', { format: { kind: 'csv', channels: [{ name: 'a' }, { name: 'a' }] } }, 'format.channels'],
    ['NMEA without preset', { format: { kind: 'nmea', sentence: 'ZZZ' } }, 'format.fields'],
    ['reconnect delays', { reconnect: { initialDelayMs: 500, maxDelayMs: 100 } }, 'reconnect.maxDelayMs'],
    ['unknown key', { colour: 'red' }, 'colour'],
    ['rate', { rate: -1 }, 'rate'],
  ]
  for (const [what, change, field] of cases) {
    const err = t.throws(() => new SerialLineSensor({ ...base, ...change } as unknown as SerialLineConfig), SensorConfigError, what) as SensorConfigError
    t.equal(err.details.field, field, `${what}: the error names ${field || 'the root'}`)
  }
  const config = { ...base, format: { kind: 'csv' as const, channels: [{ name: 'a' }] } }
  const sensor = new SerialLineSensor(config)
  t.not(sensor.config, config, 'the config is copied, never kept or mutated')
  t.notOk('baudRate' in config, 'defaults are not written into the caller’s object')

  const missing = new SerialLineSensor({ ...config, path: '/nonexistent/tty' })
  const err = await t.rejects(missing.open(), SensorOpenError)
  t.equal(missing.status, 'closed', 'a failed open leaves the sensor closed')
  t.ok(err instanceof SensorOpenError && err.details.sensor === 's', 'the error names the sensor')
})
