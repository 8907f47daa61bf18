// The conformance suite every sensor driver runs (abstract-level's test suite, for sensors): the
// interface's promises about status, events, readings, bounded iteration, abort and reopen.

import t from 'tap'
import { InvalidArgumentError } from '../../../protocols/errors.js'
import { SensorOpenError, SensorStateError } from '../../../hardware/errors.js'
import type { Reading, Sensor } from '../../../hardware/sensors/index.js'
import { take, until, waitForEvent } from './helpers.js'

export interface ConformanceSubject {
  /** A closed sensor whose source produces readings continuously (at ≥ 50 per second) once opened. */
  readonly sensor: Sensor
  /** Stops whatever the subject started (emulators, socat). */
  teardown(): Promise<void>
}

const SUPPORT_KEYS = ['reconnect', 'realtime', 'speed', 'labels', 'finite', 'badInputStats'] as const

export function sensorConformance(name: string, make: () => Promise<ConformanceSubject>): void {
  const subject = async (tt: { teardown: (fn: () => unknown) => void }): Promise<Sensor> => {
    const s = await make()
    tt.teardown(async () => {
      await s.sensor.close()
      await s.teardown()
    })
    return s.sensor
  }

  t.test(`${name}: conformance`, async (t) => {
    t.test('declares itself before opening', async (t) => {
      const sensor = await subject(t)
      t.equal(sensor.status, 'closed')
      t.type(sensor.id, 'string')
      t.ok(sensor.id.length > 0, 'has an id')
      t.type(sensor.driver, 'string')
      t.ok(Number.isFinite(sensor.rate) && sensor.rate > 0, 'nominal rate is a positive number')
      t.ok(sensor.channels.length > 0, 'has channels')
      for (const c of sensor.channels) t.ok(c.name.length > 0 && c.unit.length > 0, `channel ${c.name} has a name and a unit`)
      const units = [...new Set(sensor.channels.map((c) => c.unit))]
      t.equal(sensor.unit, units.length === 1 ? units[0] : sensor.channels.map((c) => c.unit).join(','), 'unit follows the channels')
      t.same(Object.keys(sensor.supports).sort(), [...SUPPORT_KEYS].sort(), 'supports lists every capability')
      for (const key of SUPPORT_KEYS) t.type(sensor.supports[key], 'boolean', `supports.${key} is a boolean`)
      t.ok(Object.isFrozen(sensor.supports), 'supports is frozen')
      t.match(sensor.stats, { readings: 0, dropped: 0, disconnects: 0, reconnects: 0 })
      t.throws(() => sensor.readings(), SensorStateError, 'readings() on a closed sensor throws SensorStateError')
    })

    t.test('opens, reads, emits data and change, closes', async (t) => {
      const sensor = await subject(t)
      const statuses: string[] = []
      sensor.on('status', (s) => statuses.push(s))
      let opens = 0
      sensor.on('open', () => opens++)
      await sensor.open()
      await sensor.open() // no-op
      t.equal(sensor.status, 'open')
      t.equal(opens, 1, "one 'open' event for two open() calls")
      t.same(statuses, ['opening', 'open'])

      const data: Reading[] = []
      const changes: Reading[] = []
      sensor.on('data', (r) => data.push(r))
      sensor.on('change', (r) => changes.push(r))
      const iterator = sensor.readings()
      const readings = await take(iterator, 10)
      t.equal(readings.length, 10, 'ten readings through the iterator')
      let previous = -Infinity
      let bad = 0
      for (const r of readings) {
        if (!(r.values instanceof Float32Array) || r.values.length !== sensor.channels.length) bad++
        if (r.sensor !== sensor.id || r.unit !== sensor.unit) bad++
        if (!Number.isFinite(r.t) || r.t < previous) bad++
        if (![...r.values].every(Number.isFinite)) bad++
        previous = r.t
      }
      t.equal(bad, 0, 'every reading has the right shape, id, unit, finite values and non-decreasing t')
      t.ok(data.length >= 10, "a 'data' event for every reading")
      t.same(readings, data.slice(0, 10), 'the iterator and the data events carry the same readings')
      t.ok(changes.length >= 1 && changes.length <= data.length, "'change' fires, at most once per reading")
      // change fires exactly when the values differ from the previous reading's
      let expectedChanges = 0
      data.forEach((r, i) => {
        const before = data[i - 1]
        if (i === 0 || before === undefined || before.values.some((v, c) => !Object.is(v, r.values[c]))) expectedChanges++
      })
      // the listeners were attached right after open, and the first reading after open is always a change
      t.equal(changes.length, expectedChanges, "'change' on the first reading and whenever a value differs, never otherwise")

      let closes = 0
      sensor.on('close', () => closes++)
      await sensor.close()
      await sensor.close()
      t.equal(sensor.status, 'closed')
      t.equal(closes, 1, "one 'close' event for two close() calls")
      const drained = await take(iterator, 10_000, 1_000)
      t.ok(drained.length < 10_000, `after close the iterator yields what it buffered (${drained.length}), then finishes`)
      t.same(await iterator.next(), { value: undefined, done: true }, 'and stays done')
      t.ok(sensor.stats.readings >= 10, 'stats count the readings')
      t.throws(() => sensor.readings(), SensorStateError)
    })

    t.test('a full iterator drops the oldest readings and counts them', async (t) => {
      const sensor = await subject(t)
      await sensor.open()
      const data: Reading[] = []
      sensor.on('data', (r) => data.push(r))
      const iterator = sensor.readings({ capacity: 2 })
      await until(() => data.length >= 8, 5_000, '8 readings')
      const newest = data.slice(-2)
      const first = await iterator.next()
      const second = await iterator.next()
      t.equal(first.value, newest[0], 'the first buffered reading is the second newest')
      t.equal(second.value, newest[1], 'then the newest')
      t.ok(sensor.stats.dropped >= 6, `stats.dropped counts what was dropped (${sensor.stats.dropped})`)
      await iterator.return?.()
    })

    t.test('an abort signal ends an iteration; a bad capacity is refused', async (t) => {
      const sensor = await subject(t)
      await sensor.open()
      const controller = new AbortController()
      const iterator = sensor.readings({ signal: controller.signal })
      t.equal((await take(iterator, 1)).length, 1)
      controller.abort()
      t.same(await iterator.next(), { value: undefined, done: true }, 'done after abort')
      const err = t.throws(() => sensor.readings({ capacity: 0 }), InvalidArgumentError) as InvalidArgumentError
      t.equal(err.details.field, 'capacity')
      t.throws(() => sensor.readings({ capacity: 1.5 }), InvalidArgumentError)
      // for await … of works and stops on break
      let n = 0
      for await (const r of sensor) {
        t.equal(r.sensor, sensor.id)
        if (++n === 3) break
      }
      t.equal(n, 3, 'for await reads until break')
    })

    t.test('open with an aborted signal fails cleanly; reopen after close works', async (t) => {
      const sensor = await subject(t)
      await t.rejects(sensor.open({ signal: AbortSignal.abort() }), SensorOpenError)
      t.equal(sensor.status, 'closed', 'still closed')
      await sensor.open()
      t.equal((await take(sensor.readings(), 3)).length, 3, 'reads after the failed open')
      await sensor.close()
      const opened = waitForEvent(sensor, 'open')
      await sensor.open()
      await opened
      t.equal((await take(sensor.readings(), 3)).length, 3, 'reads again after reopening')
    })
  })
}
