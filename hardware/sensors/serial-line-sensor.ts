// `serial-line`: a device that prints one reading per line on a serial port (an Arduino sketch
// printing CSV, a weather station printing key=value pairs, a GPS printing NMEA 0183).
//
// Nothing a device sends can crash the driver: every line that does not make a reading is
// dropped and counted in `stats` (garbage bytes, partial lines, over-long lines, bad NMEA
// checksums, non-numeric fields, …). When the port disappears the driver reports
// `disconnected` and reconnects with back-off.

import { z } from 'zod'
import { AbstractSensor, now, type DriverCallOptions, type SensorOptions } from './abstract-sensor.js'
import { BAUD_RATES, DEFAULT_BAUD_RATE, DEFAULT_MAX_LINE_LENGTH, MAX_LINE_LENGTH } from './constants.js'
import { parseSensorConfig, rateSchema, reconnectSchema, sensorIdSchema } from './config.js'
import { LineFramer, type FramingProblem } from './line-framer.js'
import { LINE_PROBLEMS, createLineParser, formatChannels, lineFormatSchema, type LineParser, type LineProblem } from './line-format.js'
import { SerialConnection } from './serial-connection.js'
import type { SensorSupports } from './sensor.js'

export const baudRateSchema = z
  .number()
  .int()
  .refine((b) => (BAUD_RATES as readonly number[]).includes(b), `must be one of ${BAUD_RATES.join(', ')}`)

export const serialLineConfigSchema = z.strictObject({
  driver: z.literal('serial-line').describe('selects this driver'),
  id: sensorIdSchema,
  /** Device path, e.g. /dev/ttyUSB0 or a /dev/serial/by-id link. */
  path: z.string().min(1).max(4096).describe('the serial device, e.g. `/dev/ttyUSB0` or a `/dev/serial/by-id/` link'),
  baudRate: baudRateSchema.default(DEFAULT_BAUD_RATE).describe('line speed'),
  /** Readings per second the device sends. */
  rate: rateSchema.describe('readings per second the device sends'),
  format: lineFormatSchema.describe('how a line is read: `csv`, `key-value` or `nmea`'),
  maxLineLength: z.number().int().min(8).max(MAX_LINE_LENGTH).default(DEFAULT_MAX_LINE_LENGTH).describe('a longer line is dropped and counted as `overlong`, in bytes'),
  /**
   * Drop the first line after each (re)open: the port may have been opened mid-line, and a
   * fragment such as `3.45` of `123.45` would parse as a wrong value.
   */
  skipFirstLine: z.boolean().default(true).describe('drop the first line after each (re)open, which may be a fragment'),
  reconnect: reconnectSchema.prefault({}),
})

export type SerialLineConfig = z.input<typeof serialLineConfigSchema>
export type SerialLineConfigParsed = z.output<typeof serialLineConfigSchema>

export type SerialLineCounter = 'lines' | 'bytes' | 'partial' | 'portErrors' | FramingProblem | LineProblem

const SUPPORTS: SensorSupports = {
  reconnect: true,
  realtime: true,
  speed: false,
  labels: false,
  finite: false,
  badInputStats: true,
}

export interface SerialLineSensorOptions extends SensorOptions {
  /** For tests: the reconnect jitter source. */
  readonly random?: () => number
}

export class SerialLineSensor extends AbstractSensor {
  readonly config: SerialLineConfigParsed
  readonly #parse: LineParser
  readonly #counters: Record<SerialLineCounter, number>
  readonly #random: (() => number) | undefined
  #framer: LineFramer | undefined
  #connection: SerialConnection | undefined
  #skipNext = false
  #chunkTime = 0

  constructor(config: SerialLineConfig, options: SerialLineSensorOptions = {}) {
    const parsed = parseSensorConfig('serial-line', serialLineConfigSchema, config)
    super({
      id: parsed.id,
      driver: 'serial-line',
      rate: parsed.rate,
      channels: formatChannels(parsed.format),
      supports: SUPPORTS,
      logger: options.logger,
    })
    this.config = parsed
    this.#parse = createLineParser(parsed.format)
    this.#random = options.random
    const counters: Partial<Record<SerialLineCounter, number>> = { lines: 0, bytes: 0, partial: 0, portErrors: 0, overlong: 0, garbage: 0 }
    for (const problem of LINE_PROBLEMS) counters[problem] = 0
    this.#counters = counters as Record<SerialLineCounter, number>
  }

  protected override _stats(): Record<string, number> {
    return { ...this.#counters, portErrors: this.#counters.portErrors + (this.#connection?.errors ?? 0) }
  }

  protected override async _open({ signal }: DriverCallOptions): Promise<void> {
    const framer = new LineFramer(this.config.maxLineLength, {
      onLine: this.#onLine,
      onReject: (problem) => this.#counters[problem]++,
    })
    const connection = new SerialConnection({
      sensor: this.id,
      path: this.config.path,
      baudRate: this.config.baudRate,
      reconnect: this.config.reconnect,
      logger: this.logger,
      ...(this.#random === undefined ? {} : { random: this.#random }),
      onData: this.#onData,
      onDisconnect: (error) => {
        if (framer.discard()) this.#counters.partial++
        this._disconnected(error)
      },
      onReopen: async () => {
        this.#skipNext = this.config.skipFirstLine
      },
      onReconnect: () => this._reconnected(),
      onFail: (error) => this._failed(error),
    })
    this.#framer = framer
    this.#connection = connection
    this.#skipNext = this.config.skipFirstLine
    try {
      await connection.open(signal)
    } catch (error) {
      this.#framer = undefined
      this.#connection = undefined
      throw error
    }
  }

  protected override async _close(): Promise<void> {
    const connection = this.#connection
    this.#connection = undefined
    if (connection !== undefined) {
      this.#counters.portErrors += connection.errors
      await connection.close()
    }
    if (this.#framer?.discard() === true) this.#counters.partial++
    this.#framer = undefined
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#chunkTime = now()
    this.#counters.bytes += chunk.length
    this.#framer?.push(chunk)
  }

  readonly #onLine = (line: string): void => {
    this.#counters.lines++
    if (this.#skipNext) {
      this.#skipNext = false
      this.#counters.partial++
      return
    }
    if (line.trim() === '') return
    const result = this.#parse(line)
    if (typeof result === 'string') {
      this.#counters[result]++
      return
    }
    this._push(result, this.#chunkTime)
  }
}
