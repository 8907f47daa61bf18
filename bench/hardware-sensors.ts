// Sensor throughput, each figure beside a baseline measured in the same run:
// - lines per second the serial-line driver parses over a real socat pseudo-terminal, against
//   serialport's own ReadlineParser plus split/Number on the same PTY and writer; and the same
//   two in memory, without the PTY, to show the parsing cost alone;
// - readings per second from sensor to window (synthetic at 'max' speed and the ECG replay, each
//   through readings() → windows(), one await per reading, and through sensorWindows(), one
//   await per window), against the same Windower fed synchronously from readings already in an
//   array. The synthetic rows include generating the signal (sines, Gaussian noise, anomalies),
//   which the baseline had done beforehand.
//
// bench/hardware.ts imports `sensorBenchRows`; run alone it prints its own table:
//   npx tsx bench/hardware-sensors.ts [--quick]

import { pathToFileURL } from 'node:url'
import { ReadlineParser, SerialPort } from 'serialport'
import {
  ReplaySensor,
  SerialLineSensor,
  SyntheticSensor,
  Windower,
  createLineParser,
  generateSynthetic,
  lineFormatSchema,
  sensorWindows,
  windows,
  type ReplayConfig,
  type Sensor,
  type SyntheticConfig,
  type WindowOptions,
} from '../hardware/sensors/index.js'
import { LineFramer } from '../hardware/sensors/line-framer.js'
import { createPtyPair, type PtyPair } from '../test/fixtures/serial/pty-pair.js'
import { loadEcgMillivolts } from '../test/fixtures/serial/line-emulator.js'
import { printTable, withRatios, type Row } from './lib/report.js'

const GROUP = 'sensors'
const ECG_FILE = new URL('../data/ecg_mitbih208_360hz_adc.csv.gz', import.meta.url).pathname

export interface SensorBenchOptions {
  /** Shorter measurements (for CI smoke runs). */
  readonly quick?: boolean
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `index,millivolts` lines of the ECG, as the serial sensor emulator prints them, in one buffer. */
async function ecgLines(count: number): Promise<Buffer> {
  const mv = await loadEcgMillivolts(ECG_FILE)
  const lines: string[] = []
  for (let i = 0; i < count; i++) lines.push(`${i},${(mv[i % mv.length] as number).toFixed(3)}\n`)
  return Buffer.from(lines.join(''), 'latin1')
}

/** Writes `chunk` to the device side of the PTY as fast as it drains, until stopped. */
async function startWriter(path: string, chunk: Buffer): Promise<{ stop(): Promise<void> }> {
  const port = new SerialPort({ path, baudRate: 4_000_000, autoOpen: false })
  port.on('error', () => undefined)
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())))
  let running = true
  const loop = (async () => {
    while (running && port.isOpen) {
      await new Promise<void>((resolve) => port.write(chunk, () => resolve()))
    }
  })()
  return {
    async stop() {
      running = false
      await new Promise<void>((resolve) => port.close(() => resolve()))
      await loop
    },
  }
}

/** Lines per second a reader counts, over `ms` after a warm-up. */
async function linesPerSecond(count: () => number, ms: number): Promise<number> {
  await sleep(Math.min(300, ms / 4))
  const n0 = count()
  const t0 = performance.now()
  await sleep(ms)
  return ((count() - n0) * 1000) / (performance.now() - t0)
}

async function serialRows(ms: number): Promise<Row[]> {
  const chunk = await ecgLines(4096)
  const lineCount = 4096
  let pair: PtyPair | undefined
  try {
    pair = await createPtyPair()
    // The driver.
    const sensor = new SerialLineSensor({
      driver: 'serial-line',
      id: 'bench',
      path: pair.a,
      baudRate: 4_000_000,
      rate: 360,
      format: { kind: 'csv', channels: [{ name: 'index' }, { name: 'mlii', unit: 'mV' }] },
    })
    await sensor.open()
    let writer = await startWriter(pair.b, chunk)
    const driver = await linesPerSecond(() => sensor.stats.lines as number, ms)
    await writer.stop()
    const bad = (sensor.stats.nonNumeric as number) + (sensor.stats.wrongFieldCount as number) + (sensor.stats.garbage as number)
    await sensor.close()
    if (bad > 0) throw new Error(`the driver rejected ${bad} good lines`)

    // The baseline: serialport's ReadlineParser, then split and Number, on the same PTY and writer.
    const port = new SerialPort({ path: pair.a, baudRate: 4_000_000, autoOpen: false })
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())))
    const parser = port.pipe(new ReadlineParser({ delimiter: '\n' }))
    let lines = 0
    let unparsed = 0 // a line cut when the previous reader closed, at most one or two
    parser.on('data', (line: string) => {
      const cells = line.split(',')
      if (!Number.isFinite(Number(cells[0]) + Number(cells[1]))) unparsed++
      lines++
    })
    writer = await startWriter(pair.b, chunk)
    const baseline = await linesPerSecond(() => lines, ms)
    await writer.stop()
    await new Promise<void>((resolve) => port.close(() => resolve()))
    if (unparsed > 2) throw new Error(`the baseline failed to parse ${unparsed} lines`)

    // The same two without the PTY: parsing cost alone.
    const parse = createLineParser(lineFormatSchema.parse({ kind: 'csv', channels: [{ name: 'index' }, { name: 'mlii' }] }))
    let parsed = 0
    const framer = new LineFramer(256, {
      onLine: (line) => {
        if (typeof parse(line) !== 'string') parsed++
      },
      onReject: () => undefined,
    })
    const memDriver = rate(() => framer.push(chunk), lineCount, ms / 2)
    const memBaselineParser = new ReadlineParser({ delimiter: '\n' })
    let memParsed = 0
    memBaselineParser.on('data', (line: string) => {
      const cells = line.split(',')
      if (Number.isFinite(Number(cells[0]) + Number(cells[1]))) memParsed++
    })
    const memBaseline = rate(() => memBaselineParser.write(chunk), lineCount, ms / 2)
    if (parsed === 0 || memParsed === 0) throw new Error('in-memory parse failed')

    const base = 'serialport ReadlineParser + split/Number, same PTY'
    const memBase = 'serialport ReadlineParser + split/Number, in memory'
    return [
      { group: GROUP, name: base, value: baseline, unit: 'lines/s' },
      { group: GROUP, name: 'serial-line driver over a socat PTY (CSV, 2 channels)', value: driver, unit: 'lines/s', baseline: base },
      { group: GROUP, name: memBase, value: memBaseline, unit: 'lines/s' },
      { group: GROUP, name: 'serial-line framing + parsing, in memory', value: memDriver, unit: 'lines/s', baseline: memBase },
    ]
  } finally {
    await pair?.dispose()
  }
}

/** Operations × `perCall` per second of a synchronous function, over `ms`. */
function rate(fn: () => unknown, perCall: number, ms: number): number {
  const warm = performance.now() + Math.min(100, ms / 4)
  while (performance.now() < warm) fn()
  let calls = 0
  const t0 = performance.now()
  let now = t0
  while (now - t0 < ms) {
    fn()
    calls++
    now = performance.now()
  }
  return (calls * perCall * 1000) / (now - t0)
}

/** Readings per second from a sensor to windows, for `count` readings, by either path. */
async function sensorToWindow(sensor: Sensor, options: WindowOptions, count: number, path: 'readings' | 'events'): Promise<number> {
  await sensor.open()
  try {
    const controller = new AbortController()
    const perWindow = options.hop ?? options.length
    let windowsSeen = 0
    const t0 = performance.now()
    const source =
      path === 'readings'
        ? windows(sensor.readings({ capacity: 4096 }), options, { signal: controller.signal })
        : sensorWindows(sensor, options, { capacity: 1024, signal: controller.signal })
    for await (const w of source) {
      if (w.data.length !== options.length * options.channels) throw new Error('bad window')
      if (++windowsSeen * perWindow >= count) controller.abort()
    }
    const readings = options.length + (windowsSeen - 1) * perWindow
    return (readings * 1000) / (performance.now() - t0)
  } finally {
    await sensor.close()
  }
}

async function windowRows(count: number): Promise<Row[]> {
  const channels = 4
  const options: WindowOptions = { channels, length: 256, hop: 128, normalise: { kind: 'z-score', stats: 'running' } }
  const syntheticConfig: SyntheticConfig = {
    driver: 'synthetic',
    id: 'bench',
    rate: 1000,
    speed: 'max',
    seed: 1,
    channels: Array.from({ length: channels }, (_, c) => ({ name: `c${c}`, noise: 0.1, sinusoids: [{ frequency: 5 + c, amplitude: 1 }] })),
    anomalies: { probability: 0.001, kinds: ['spike', 'shift'], magnitude: 3, maxLength: 10 },
  }

  // Baseline: the same Windower fed synchronously from readings already in memory.
  const pre = generateSynthetic(syntheticConfig, 65_536)
  const windower = new Windower(options)
  let k = 0
  const baseline = rate(
    () => {
      for (let i = 0; i < 1024; i++) windower.push({ t: k, values: pre.values[k++ & 65_535] as Float32Array })
    },
    1024,
    1000,
  )
  const synthetic = await sensorToWindow(new SyntheticSensor(syntheticConfig), options, count, 'readings')
  const syntheticEvents = await sensorToWindow(new SyntheticSensor(syntheticConfig), options, count, 'events')

  const ecgOptions: WindowOptions = { channels: 1, length: 360, hop: 180, normalise: { kind: 'z-score', stats: 'window' } }
  const ecg = await loadEcgMillivolts(ECG_FILE)
  const ecgWindower = new Windower(ecgOptions)
  let j = 0
  const ecgBaseline = rate(
    () => {
      for (let i = 0; i < 1024; i++) ecgWindower.push({ t: j, values: ecg.subarray(j % ecg.length, (j++ % ecg.length) + 1) })
    },
    1024,
    1000,
  )
  const replayConfig: ReplayConfig = { driver: 'replay', id: 'ecg', file: ECG_FILE, rate: 360, speed: 'max', loop: true, channels: [{ column: 'adc', unit: 'mV', baseline: 1024, gain: 200 }] }
  const replay = await sensorToWindow(new ReplaySensor(replayConfig), ecgOptions, count, 'readings')
  const replayEvents = await sensorToWindow(new ReplaySensor(replayConfig), ecgOptions, count, 'events')
  const base = 'Windower fed from an array (4 ch, 256/128, z-score)'
  const ecgBase = 'Windower fed from an array (ECG, 360/180, z-score)'
  return [
    { group: GROUP, name: base, value: baseline, unit: 'readings/s' },
    { group: GROUP, name: 'synthetic → readings() → windows() (4 ch, 256/128)', value: synthetic, unit: 'readings/s', baseline: base },
    { group: GROUP, name: 'synthetic → sensorWindows() (4 ch, 256/128)', value: syntheticEvents, unit: 'readings/s', baseline: base },
    { group: GROUP, name: ecgBase, value: ecgBaseline, unit: 'readings/s' },
    { group: GROUP, name: 'replay ECG.gz → readings() → windows() (360/180)', value: replay, unit: 'readings/s', baseline: ecgBase },
    { group: GROUP, name: 'replay ECG.gz → sensorWindows() (360/180)', value: replayEvents, unit: 'readings/s', baseline: ecgBase },
  ]
}

/** The sensor rows of the hardware benchmark, with ratios to their baselines filled in. */
export async function sensorBenchRows(options: SensorBenchOptions = {}): Promise<Row[]> {
  const quick = options.quick ?? false
  const rows = [...(await serialRows(quick ? 500 : 2000)), ...(await windowRows(quick ? 200_000 : 1_000_000))]
  return withRatios(rows)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await sensorBenchRows({ quick: process.argv.includes('--quick') })
  printTable('hardware: sensors', rows)
}
