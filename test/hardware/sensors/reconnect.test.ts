// Unplugging: the socat pair is killed (the port vanishes) and restarted; the serial-line driver
// reports the disconnection, reconnects with back-off and reads on. Bounded attempts end in
// `failed`; close() during back-off stops at once.

import t from 'tap'
import { SensorReconnectFailedError } from '../../../hardware/errors.js'
import { SerialLineSensor, backoffDelay, type Reading } from '../../../hardware/sensors/index.js'
import { startLineEmulator, type LineEmulator } from '../../fixtures/serial/line-emulator.js'
import { createPtyPair } from '../../fixtures/serial/pty-pair.js'
import { captureLogger, take, until, waitForEvent } from './helpers.js'

t.test('backoffDelay: exponential, capped, jittered', async (t) => {
  const params = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5 }
  t.same(
    [0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, params, () => 0)),
    [100, 200, 400, 800, 1000, 1000],
    'doubles up to the cap with no jitter drawn',
  )
  t.equal(backoffDelay(3, params, () => 1), 400, 'jitter 0.5 takes off at most half')
  t.equal(backoffDelay(1e6, params, () => 0), 1000, 'a huge attempt number stays at the cap')
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(i % 8, params)
    if (d < 0 || d > 1000) t.fail(`delay ${d} out of bounds`)
  }
  t.pass('random delays stay within [0, max]')
})

t.test('a killed and restarted socat pair: disconnected, then reconnected', async (t) => {
  const pair = await createPtyPair()
  t.teardown(() => pair.dispose())
  const { logger, entries } = captureLogger()
  const sensor = new SerialLineSensor(
    {
      driver: 'serial-line',
      id: 'unplugged',
      path: pair.a,
      rate: 200,
      format: { kind: 'csv', channels: [{ name: 'n' }] },
      reconnect: { initialDelayMs: 20, maxDelayMs: 80, jitter: 0.2 },
    },
    { logger },
  )
  t.teardown(() => sensor.close())
  await sensor.open()
  const iterator = sensor.readings({ capacity: 10_000 })
  let emulator: LineEmulator = await startLineEmulator({ path: pair.b, rate: 200, line: (i) => `${i}` })
  t.teardown(() => emulator.stop())
  t.equal((await take(iterator, 20)).length, 20, 'reading before the unplugging')

  const disconnected = waitForEvent(sensor, 'disconnected')
  await emulator.stop()
  await pair.stop() // the port vanishes
  const [info] = await disconnected
  t.equal(sensor.status, 'disconnected', "status is 'disconnected'")
  t.ok(info.error instanceof Error, 'the event carries the cause')
  t.equal(sensor.stats.disconnects, 1)

  // Let it fail to reopen a few times while the port is away.
  await until(() => entries.filter((e) => e.msg === 'reconnect attempt failed').length >= 2, 5_000, 'two failed attempts')
  t.equal(sensor.status, 'disconnected', 'still disconnected while the port is away')

  const reconnected = waitForEvent(sensor, 'reconnected')
  await pair.start() // plugged back in
  await reconnected
  t.equal(sensor.status, 'open', "status is 'open' again")
  emulator = await startLineEmulator({ path: pair.b, rate: 200, line: (i) => `${1000 + i}` })
  const after: Reading[] = []
  for (;;) {
    const [r] = await take(iterator, 1)
    if (r === undefined) break
    if ((r.values[0] as number) >= 1000) after.push(r)
    if (after.length === 10) break
  }
  t.equal(after.length, 10, 'the same iterator reads on after the reconnection')
  t.match(sensor.stats, { disconnects: 1, reconnects: 1 })
  const attempts = entries.filter((e) => e.msg === 'reconnect attempt failed').map((e) => e.attempt as number)
  t.same(attempts, attempts.map((_, i) => i), 'attempts are numbered 0, 1, 2 … (one back-off step each)')
  t.ok(entries.some((e) => e.msg === 'disconnected' && e.level === 40), 'the disconnection is logged as a warning')
})

t.test('reconnection gives up after maxAttempts: failed, and the iterator throws', async (t) => {
  const pair = await createPtyPair()
  t.teardown(() => pair.dispose())
  const sensor = new SerialLineSensor({
    driver: 'serial-line',
    id: 'gone',
    path: pair.a,
    rate: 10,
    format: { kind: 'csv', channels: [{ name: 'n' }] },
    reconnect: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 },
  })
  t.teardown(() => sensor.close())
  await sensor.open()
  const iterator = sensor.readings()
  const failed = waitForEvent(sensor, 'failed')
  await pair.stop()
  const [error] = await failed
  t.ok(error instanceof SensorReconnectFailedError, 'a SensorReconnectFailedError')
  t.equal((error as SensorReconnectFailedError).details.attempts, 3)
  t.equal(sensor.status, 'failed')
  await t.rejects(iterator.next(), SensorReconnectFailedError, 'the waiting iterator throws it')
  await sensor.close()
  t.equal(sensor.status, 'closed', 'a failed sensor can be closed, and reopened later')
  await pair.start()
  await sensor.open()
  t.equal(sensor.status, 'open')
})

t.test('close() during back-off stops reconnecting at once', async (t) => {
  const pair = await createPtyPair()
  t.teardown(() => pair.dispose())
  const { logger, entries } = captureLogger()
  const sensor = new SerialLineSensor(
    {
      driver: 'serial-line',
      id: 'closing',
      path: pair.a,
      rate: 10,
      format: { kind: 'csv', channels: [{ name: 'n' }] },
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    },
    { logger },
  )
  t.teardown(() => sensor.close())
  await sensor.open()
  const disconnected = waitForEvent(sensor, 'disconnected')
  await pair.stop() // at once: the read in flight sees a hang-up (EOF), which only the node watchdog notices
  await disconnected
  const started = Date.now()
  await sensor.close()
  t.ok(Date.now() - started < 1_000, 'close() did not wait out the 60 s back-off')
  t.equal(sensor.status, 'closed')
  await pair.start()
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(sensor.status, 'closed', 'no reconnection after close')
  t.notOk(entries.some((e) => e.msg === 'reconnected'), 'nothing reconnected')
})
