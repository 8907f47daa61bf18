// Sensors → windows → samples. Each sensor of the bundle is opened (and opened again after a
// failure, with backoff), its readings are cut into windows, the label channel is split off, and
// the features are scaled (protocols/model/input-scaling.ts) into one model input per window.
// Reading through `readings()` gives back-pressure: a replay at speed `max` waits for the agent.
import { isAbsolute, resolve } from 'node:path'
import type { Logger } from 'pino'
import { ConfigError, scaleInputs, type InputScaling } from '../../protocols/index.js'
import { SensorConfigError } from '../../hardware/errors.js'
import { createSensor, windows, type Sensor, type SensorWindow } from '../../hardware/sensors/index.js'
import { MAX_LABEL_BYTES } from '../dataset/constants.js'
import { SENSOR_QUEUE_CAPACITY, SENSOR_RETRY_MAX_MS, SENSOR_RETRY_MS } from './constants.js'

export interface WindowSample {
  sensor: string
  /** Scaled model input, in `layout` order. */
  features: Float32Array
  /** The label channel's value (at the window's last reading) as text; absent without a label channel. */
  label?: string
  /** Unix ms of the window's last reading. */
  time: number
}

export interface SensorPipelineParameters {
  /** The bundle's sensor configurations (each validated by its driver). */
  sensors: readonly Record<string, unknown>[]
  /** Relative replay files are resolved against this directory (device.json's). */
  baseDir: string
  /** The file the sensors come from, named in a configuration error (`device.json: sensors[1] (uart): format.channels: …`). */
  file?: string
  labelChannel: string
  windowSize: number
  windowHop?: number
  layout: 'channels-first' | 'channels-last'
  inputScaling: InputScaling
  logger: Logger
  onSample(sample: WindowSample): void
  /** A finite sensor (a replay without loop) played to its end. */
  onEnded?(id: string): void
}

export interface SensorState {
  id: string
  driver: string
  status: string
  windows: number
  dropped: number
  errors: number
  /** Input the driver refused, by kind (`garbage`, `wrongFieldCount`, `badChecksum`, …); only kinds seen. */
  malformed: Record<string, number>
}

// The counters a driver keeps for input it refused (the serial-line driver's: framing, then parsing).
const MALFORMED_COUNTERS = ['garbage', 'overlong', 'partial', 'nonNumeric', 'wrongFieldCount', 'missingKey', 'badChecksum', 'missingChecksum', 'malformed'] as const

/** Text of a label channel value: integers as integers (`3`, not `3.0`). */
export function labelText(value: number): string | undefined {
  if (!Number.isFinite(value)) return undefined
  const text = Number.isInteger(value) ? value.toFixed(0) : String(value)
  return Buffer.byteLength(text) <= MAX_LABEL_BYTES ? text : undefined
}

/** Splits a channels-last window of all channels into its features (in `layout` order) and its label. */
export function splitWindow(window: SensorWindow, labelIndex: number, layout: 'channels-first' | 'channels-last'): { features: Float32Array; label: number | undefined } {
  const [length, channels] = window.shape
  const featureChannels = labelIndex < 0 ? channels : channels - 1
  const features = new Float32Array(length * featureChannels)
  for (let i = 0; i < length; i++) {
    let f = 0
    for (let c = 0; c < channels; c++) {
      if (c === labelIndex) continue
      const v = window.data[i * channels + c] as number
      features[layout === 'channels-last' ? i * featureChannels + f : f * length + i] = v
      f++
    }
  }
  const label = labelIndex < 0 ? undefined : (window.data[(length - 1) * channels + labelIndex] as number)
  return { features, label }
}

/** A copy of a sensor configuration with a relative replay `file` made absolute. */
export function resolveSensorConfig(config: Readonly<Record<string, unknown>>, baseDir: string): Record<string, unknown> {
  const copy = { ...config }
  if (copy.driver === 'replay' && typeof copy.file === 'string' && !isAbsolute(copy.file)) copy.file = resolve(baseDir, copy.file)
  return copy
}

interface Running {
  sensor: Sensor
  state: SensorState
  loop: Promise<void>
}

export class SensorPipeline {
  readonly #p: SensorPipelineParameters
  readonly #log: Logger
  readonly #running: Running[] = []
  readonly #abort = new AbortController()

  /** Creates every sensor (a bad configuration throws SensorConfigError here, before anything opens). */
  constructor(parameters: SensorPipelineParameters) {
    this.#p = parameters
    this.#log = parameters.logger.child({ component: 'agent:sensors' })
    for (const [i, config] of parameters.sensors.entries()) {
      let sensor: Sensor
      try {
        sensor = createSensor(resolveSensorConfig(config, parameters.baseDir), { logger: parameters.logger })
      } catch (err) {
        if (!(err instanceof SensorConfigError)) throw err
        const field = typeof err.details.field === 'string' && err.details.field !== '' ? `${err.details.field}: ` : ''
        const problem = typeof err.details.problem === 'string' ? err.details.problem : err.message
        throw new ConfigError(parameters.file ?? 'device.json', `sensors[${i}] (${typeof config.id === 'string' ? config.id : 'no id'})`, `${field}${problem}`, { cause: err })
      }
      this.#running.push({ sensor, state: { id: sensor.id, driver: sensor.driver, status: 'closed', windows: 0, dropped: 0, errors: 0, malformed: {} }, loop: Promise.resolve() })
    }
  }

  #skip: ReadonlySet<string> = new Set()

  /** Opens every sensor but those in `skip` (finite ones that already ended in an earlier run). */
  start(options: { skip?: ReadonlySet<string> } = {}): void {
    this.#skip = new Set(options.skip ?? [])
    for (const running of this.#running) {
      if (this.#skip.has(running.sensor.id)) {
        running.state.status = 'ended'
        this.#log.info({ sensor: running.sensor.id }, 'sensor played to its end in an earlier run; not played again')
        continue
      }
      running.loop = this.#run(running)
    }
  }

  /** Each sensor's state; malformed input counted since the last call is logged here, once per status write. */
  states(): SensorState[] {
    return this.#running.map((r) => {
      const stats = r.sensor.stats
      const malformed: Record<string, number> = {}
      for (const kind of MALFORMED_COUNTERS) if ((stats[kind] ?? 0) > 0) malformed[kind] = stats[kind] ?? 0
      const grown = Object.fromEntries(Object.entries(malformed).filter(([kind, n]) => n > (r.state.malformed[kind] ?? 0)).map(([kind, n]) => [kind, n - (r.state.malformed[kind] ?? 0)]))
      if (Object.keys(grown).length > 0) this.#log.warn({ sensor: r.sensor.id, malformed: grown, total: malformed }, 'malformed input dropped')
      r.state.malformed = malformed
      return { ...r.state, malformed: { ...malformed }, status: this.#skip.has(r.sensor.id) ? 'ended' : r.sensor.status, dropped: stats.dropped }
    })
  }

  async stop(): Promise<void> {
    this.#abort.abort()
    await Promise.allSettled(this.#running.map((r) => r.sensor.close()))
    await Promise.allSettled(this.#running.map((r) => r.loop))
  }

  async #run(running: Running): Promise<void> {
    const { sensor, state } = running
    const signal = this.#abort.signal
    let delay = SENSOR_RETRY_MS
    while (!signal.aborted) {
      try {
        await sensor.open({ signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) })
        delay = SENSOR_RETRY_MS
        await this.#windows(running, signal)
        if (sensor.status === 'ended') {
          this.#log.info({ sensor: sensor.id, windows: state.windows }, 'sensor ended')
          this.#p.onEnded?.(sensor.id)
          return
        }
      } catch (err) {
        if (signal.aborted) return
        state.errors++
        this.#log.warn({ sensor: sensor.id, err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'sensor failed; trying again')
        await sensor.close().catch(() => undefined) // a failed sensor is closed before it is opened again; its own error is logged above
        await sleep(delay, signal)
        delay = Math.min(delay * 2, SENSOR_RETRY_MAX_MS)
      }
    }
  }

  async #windows(running: Running, signal: AbortSignal): Promise<void> {
    const { sensor, state } = running
    const p = this.#p
    const labelIndex = sensor.channels.findIndex((c) => c.name === p.labelChannel)
    const options = { channels: sensor.channels.length, length: p.windowSize, layout: 'channels-last' as const, ...(p.windowHop === undefined ? {} : { hop: p.windowHop }) }
    for await (const window of windows(sensor.readings({ capacity: SENSOR_QUEUE_CAPACITY, signal }), options, { signal })) {
      const { features, label } = splitWindow(window, labelIndex, p.layout)
      let scaled: Float32Array
      try {
        scaled = scaleInputs(features, p.inputScaling, features)
      } catch (err) {
        state.errors++
        this.#log.debug({ sensor: sensor.id, err: (err as Error).message }, 'window dropped')
        continue
      }
      state.windows++
      const text = label === undefined ? undefined : labelText(label)
      p.onSample(text === undefined ? { sensor: sensor.id, features: scaled, time: window.end } : { sensor: sensor.id, features: scaled, label: text, time: window.end })
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
