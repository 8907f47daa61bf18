// createSensor: from a JSON config to the right driver, with errors that name the field.

import t from 'tap'
import { SensorConfigError } from '../../../hardware/errors.js'
import { FirmataSensor, ReplaySensor, SENSOR_DRIVERS, SerialLineSensor, SyntheticSensor, createSensor } from '../../../hardware/sensors/index.js'

t.test('the driver field picks the driver', async (t) => {
  const configs = {
    replay: { driver: 'replay', id: 'r', file: 'x.csv', rate: 1, channels: [{ column: 0 }] },
    synthetic: { driver: 'synthetic', id: 's', rate: 10, seed: 1, channels: [{ name: 'a' }] },
    'serial-line': { driver: 'serial-line', id: 'l', path: '/dev/ttyUSB0', rate: 1, format: { kind: 'csv', channels: [{ name: 'a' }] } },
    firmata: { driver: 'firmata', id: 'f', path: '/dev/ttyACM0', analog: [{ pin: 'A0', name: 'a0' }] },
  }
  const classes = { replay: ReplaySensor, synthetic: SyntheticSensor, 'serial-line': SerialLineSensor, firmata: FirmataSensor }
  for (const driver of SENSOR_DRIVERS) {
    const sensor = createSensor(JSON.parse(JSON.stringify(configs[driver])))
    t.ok(sensor instanceof classes[driver], `${driver} → ${classes[driver].name}`)
    t.equal(sensor.driver, driver)
    t.equal(sensor.status, 'closed', 'created closed: nothing touched until open()')
  }
})

t.test('bad configs', async (t) => {
  for (const bad of [null, 42, 'replay', {}, { driver: 'usb-camera' }]) {
    const err = t.throws(() => createSensor(bad), SensorConfigError, JSON.stringify(bad)) as SensorConfigError
    t.equal(err.details.field, 'driver')
    t.equal(err.code, 'CW_SENSOR_CONFIG')
  }
  const err = t.throws(() => createSensor({ driver: 'synthetic', id: 'bad id', rate: 10, seed: 1, channels: [{ name: 'a' }] }), SensorConfigError) as SensorConfigError
  t.match(err.details, { driver: 'synthetic', field: 'id' }, 'the driver schema names the field')
  t.match(err.message, /synthetic sensor config: id:/)
})
