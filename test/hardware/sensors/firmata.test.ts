// The firmata driver against the Firmata board emulator over a socat pseudo-terminal: johnny-five
// reaches `ready` through firmata-io on serialport 13, analog pins read in volts, johnny-five
// Thermometers by controller name, and the board survives being unplugged.

import t from 'tap'
import { FirmataError, SensorConfigError } from '../../../hardware/errors.js'
import { FirmataSensor, type FirmataConfig, type Reading } from '../../../hardware/sensors/index.js'
import { startFirmataEmulator, type FirmataEmulator } from '../../fixtures/serial/firmata-emulator.js'
import { createPtyPair, type PtyPair } from '../../fixtures/serial/pty-pair.js'
import { captureLogger, take, until, waitForEvent } from './helpers.js'

const ADC_MAX = 1023 // the emulator's 10-bit ADC, as its capability response says
const VREF = 5

interface Rig {
  readonly pair: PtyPair
  emulator: FirmataEmulator
}

async function rig(t: { teardown: (fn: () => unknown) => void }, analog: number[], silent = false): Promise<Rig> {
  const pair = await createPtyPair()
  const r: Rig = { pair, emulator: await startFirmataEmulator({ path: pair.b, analog, silent }) }
  t.teardown(async () => {
    await r.emulator.stop()
    await pair.dispose()
  })
  return r
}

function sensorFor(t: { teardown: (fn: () => unknown) => void }, config: Omit<FirmataConfig, 'driver' | 'id'>, logger?: ReturnType<typeof captureLogger>['logger']): FirmataSensor {
  const sensor = new FirmataSensor({ driver: 'firmata', id: 'uno', reportVersionTimeoutMs: 50, ...config }, logger === undefined ? {} : { logger })
  t.teardown(() => sensor.close())
  return sensor
}

t.test('johnny-five reaches ready and reads known analog values and thermometers', async (t) => {
  const { pair, emulator } = await rig(t, [512, 51, 164, 1023, 0, 0])
  const sensor = sensorFor(t, {
    path: pair.a,
    rate: 100,
    samplingIntervalMs: 10,
    analog: [
      { pin: 'A0', name: 'a0' },
      { pin: 3, name: 'a3' },
    ],
    thermometers: [
      { pin: 'A1', name: 'lm35', controller: 'LM35' },
      { pin: 'A2', name: 'tmp36', controller: 'TMP36' },
    ],
  })
  t.same(sensor.channels, [
    { name: 'a0', unit: 'V' },
    { name: 'a3', unit: 'V' },
    { name: 'lm35', unit: '°C' },
    { name: 'tmp36', unit: '°C' },
  ])
  t.equal(sensor.unit, 'V,V,°C,°C')
  await sensor.open()
  t.same(sensor.firmware, { name: 'StandardFirmata.ino', major: 2, minor: 5 }, 'the firmware the board reported')
  t.match(emulator.received, { reportVersion: 1, queryFirmware: 1, capabilityQuery: 1, analogMappingQuery: 1 }, 'the full Firmata handshake')
  t.equal(emulator.samplingIntervalMs, 10, 'the sampling interval reached the board')
  const [reading] = await take(sensor.readings(), 1)
  const values = reading === undefined ? [] : [...reading.values]
  t.same(
    values,
    [Math.fround((512 / ADC_MAX) * VREF), Math.fround(VREF), 25, 30],
    'A0 = 512/1023 · 5 V, A3 = full scale; LM35 at 250 mV = 25 °C; TMP36 at 802 mV = 30 °C (datasheet conversions)',
  )
  t.same([...emulator.reporting].sort(), [0, 1, 2, 3], 'exactly the used channels report')

  // A new value on the pin shows up and fires 'change'.
  const change = waitForEvent(sensor, 'change')
  emulator.setAnalog(0, 0)
  const [changed] = await change
  t.equal(changed.values[0], 0, "'change' carries the new value")

  await sensor.close()
  await until(() => emulator.reporting.size === 0, 2_000, 'reporting off')
  t.pass('closing switches analog reporting off at the board')
})

t.test('a pin the board does not have is a FirmataError naming the field', async (t) => {
  const { pair } = await rig(t, [1, 2, 3, 4, 5, 6])
  const sensor = sensorFor(t, { path: pair.a, analog: [{ pin: 'A0', name: 'ok' }], thermometers: [{ pin: 'A7', name: 't', controller: 'TMP36' }] })
  const err = (await t.rejects(sensor.open(), FirmataError)) as unknown as FirmataError
  t.match(err.details, { pin: 7, field: 'thermometers.0.pin' })
  t.equal(sensor.status, 'closed')
})

t.test('a board that never answers fails the handshake in time, without stray errors', async (t) => {
  const { pair } = await rig(t, [], true)
  const { logger, entries } = captureLogger()
  const sensor = sensorFor(t, { path: pair.a, handshakeTimeoutMs: 300, analog: [{ pin: 0, name: 'a' }] }, logger)
  const started = Date.now()
  const err = (await t.rejects(sensor.open(), FirmataError)) as unknown as FirmataError
  t.ok(Date.now() - started < 2_000, 'gave up after about handshakeTimeoutMs')
  t.match(err.message, /no Firmata handshake/)
  t.equal(err.details.versionReceived, false)
  t.equal(sensor.status, 'closed')
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.notOk(entries.some((e) => e.msg === 'johnny-five error'), 'johnny-five raised no late error')
})

t.test('unplugged and plugged back: disconnected, reconnected, reading the new board', async (t) => {
  const r = await rig(t, [100, 0, 0, 0, 0, 0])
  const sensor = sensorFor(t, {
    path: r.pair.a,
    rate: 100,
    samplingIntervalMs: 10,
    analog: [{ pin: 'A0', name: 'a0' }],
    thermometers: [{ pin: 'A1', name: 't', controller: 'LM35' }],
    reconnect: { initialDelayMs: 20, maxDelayMs: 80 },
  })
  await sensor.open()
  const iterator = sensor.readings({ capacity: 10_000 })
  t.equal((await take(iterator, 3)).length, 3)

  const disconnected = waitForEvent(sensor, 'disconnected')
  await r.emulator.stop()
  await r.pair.stop()
  await disconnected
  t.equal(sensor.status, 'disconnected')

  const reconnected = waitForEvent(sensor, 'reconnected')
  await r.pair.start()
  r.emulator = await startFirmataEmulator({ path: r.pair.b, analog: [1023, 61, 0, 0, 0, 0] })
  await reconnected
  t.equal(sensor.status, 'open')
  let after: Reading | undefined
  for (;;) {
    const [reading] = await take(iterator, 1)
    if (reading === undefined || reading.values[0] === VREF) {
      after = reading
      break
    }
  }
  t.same(after === undefined ? [] : [...after.values], [VREF, 30], 'values from the board that came back (LM35 at 298 mV = 30 °C)')
  t.match(r.emulator.received, { queryFirmware: 1, samplingInterval: 1 }, 'the new connection was checked with a firmware query')
  t.same([...r.emulator.reporting].sort(), [0, 1], 'analog reporting was switched on again')
  t.match(sensor.stats, { disconnects: 1, reconnects: 1, handshakes: 2 })
})

t.test('config errors name the field', async (t) => {
  const base = { driver: 'firmata', id: 'uno', path: '/dev/ttyACM0' }
  const cases: [string, Record<string, unknown>, string][] = [
    ['controller', { thermometers: [{ pin: 'A0', name: 't', controller: 'DS18B20' }] }, 'thermometers.0.controller'],
    ['pin', { analog: [{ pin: 'A16', name: 'x' }] }, 'analog.0.pin'],
    ['no channels', {}, 'analog'],
    ['duplicate names', { analog: [{ pin: 0, name: 'x' }], thermometers: [{ pin: 1, name: 'x', controller: 'LM35' }] }, 'analog'],
    ['sampling interval', { analog: [{ pin: 0, name: 'x' }], samplingIntervalMs: 5 }, 'samplingIntervalMs'],
    ['baud rate', { analog: [{ pin: 0, name: 'x' }], baudRate: 1 }, 'baudRate'],
  ]
  for (const [what, change, field] of cases) {
    const err = t.throws(() => new FirmataSensor({ ...base, ...change } as unknown as FirmataConfig), SensorConfigError, what) as SensorConfigError
    t.equal(err.details.field, field, `${what}: names ${field}`)
  }
})
