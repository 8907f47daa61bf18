// One entry point from a JSON config to a sensor: the `driver` field picks the driver, whose
// schema then validates the rest (errors name the field).

import { SensorConfigError } from '../errors.js'
import type { SensorOptions } from './abstract-sensor.js'
import { FirmataSensor, type FirmataConfig } from './firmata-sensor.js'
import { ReplaySensor, type ReplayConfig } from './replay-sensor.js'
import type { Sensor } from './sensor.js'
import { SerialLineSensor, type SerialLineConfig } from './serial-line-sensor.js'
import { SyntheticSensor, type SyntheticConfig } from './synthetic-sensor.js'

export const SENSOR_DRIVERS = ['replay', 'synthetic', 'serial-line', 'firmata'] as const
export type SensorDriver = (typeof SENSOR_DRIVERS)[number]

export type SensorConfig = ReplayConfig | SyntheticConfig | SerialLineConfig | FirmataConfig

export function createSensor(config: unknown, options: SensorOptions = {}): Sensor {
  const driver = typeof config === 'object' && config !== null ? (config as { driver?: unknown }).driver : undefined
  switch (driver) {
    case 'replay':
      return new ReplaySensor(config as ReplayConfig, options)
    case 'synthetic':
      return new SyntheticSensor(config as SyntheticConfig, options)
    case 'serial-line':
      return new SerialLineSensor(config as SerialLineConfig, options)
    case 'firmata':
      return new FirmataSensor(config as FirmataConfig, options)
    default:
      throw new SensorConfigError(String(driver ?? 'unknown'), 'driver', `must be one of ${SENSOR_DRIVERS.join(', ')}`)
  }
}
