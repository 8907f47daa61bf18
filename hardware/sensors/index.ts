// Public API of hardware/sensors.
export type {
  ChannelInfo,
  CloseOptions,
  DisconnectInfo,
  OpenOptions,
  Reading,
  ReadingsOptions,
  Sensor,
  SensorEvents,
  SensorStats,
  SensorStatus,
  SensorSupports,
} from './sensor.js'
export { AbstractSensor, type AbstractSensorInit, type DriverCallOptions, type SensorOptions } from './abstract-sensor.js'
export { PacedSensor, type PacedSensorInit, type Sample, type Speed } from './paced-sensor.js'
export { BoundedQueue } from './bounded-queue.js'
export { createSensor, SENSOR_DRIVERS, type SensorConfig, type SensorDriver } from './create-sensor.js'
export { ReplaySensor, replayConfigSchema, type ReplayConfig } from './replay-sensor.js'
export {
  ANOMALY_KINDS,
  SyntheticGenerator,
  SyntheticSensor,
  generateSynthetic,
  syntheticConfigSchema,
  type AnomalyKind,
  type SyntheticConfig,
} from './synthetic-sensor.js'
export { SerialLineSensor, serialLineConfigSchema, type SerialLineConfig, type SerialLineSensorOptions } from './serial-line-sensor.js'
export { FirmataSensor, firmataConfigSchema, type FirmataConfig } from './firmata-sensor.js'
export { NMEA_PRESETS, createLineParser, lineFormatSchema, type LineFormat, type LineParser, type LineProblem } from './line-format.js'
export { formatNmea, nmeaChecksum, nmeaCoordinate, parseNmea, type NmeaProblem, type NmeaSentence } from './nmea.js'
export { Windower, windows, type Normalisation, type SensorWindow, type WindowLayout, type WindowOptions } from './windowing.js'
export { sensorWindows, type SensorWindowIterator, type SensorWindowsOptions } from './sensor-windows.js'
export { listSerialPorts, type ListSerialPortsParameters, type SerialPortInfo } from './list-serial-ports.js'
export { backoffDelay, type BackoffParameters } from './backoff.js'
export { NORMAL_LABEL } from './constants.js'
