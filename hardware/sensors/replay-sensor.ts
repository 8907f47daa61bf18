// `replay`: plays a recorded CSV or CSV.gz back at its true rate, N times faster, or as fast as
// it is read. Each channel is one column, converted to physical units the way PhysioNet's WFDB
// headers describe a signal: value = (raw - baseline) / gain.

import { z } from 'zod'
import { ReplayFormatError } from '../errors.js'
import type { SensorOptions, DriverCallOptions } from './abstract-sensor.js'
import { MAX_CHANNELS, MAX_REPLAY_BYTES, MAX_REPLAY_ROWS, MAX_SPEED } from './constants.js'
import { nameSchema, parseSensorConfig, rateSchema, sensorIdSchema, unitSchema } from './config.js'
import { PacedSensor, type Sample } from './paced-sensor.js'
import { readNumericCsv } from './read-numeric-csv.js'
import type { SensorSupports } from './sensor.js'

export const speedSchema = z.union([z.number().positive().max(MAX_SPEED), z.literal('max')])

export const replayChannelSchema = z.strictObject({
  /** Header name or 0-based column index. */
  column: z.union([z.string().min(1).max(256), z.number().int().min(0).max(65535)]).describe('the header name or 0-based index of the column to read'),
  /** Defaults to the column name, or `ch<index>`. */
  name: nameSchema.optional().describe('the channel name; absent: the column name, or `ch<index>`'),
  unit: unitSchema.default('1').describe('the unit of the scaled value'),
  baseline: z.number().finite().default(0).describe('subtracted from each raw value before the gain'),
  gain: z
    .number()
    .finite()
    .refine((g) => g !== 0, 'must not be 0')
    .default(1)
    .describe('each value is (raw − baseline) / gain'),
})

export const replayConfigSchema = z.strictObject({
  driver: z.literal('replay').describe('selects this driver'),
  id: sensorIdSchema,
  file: z.string().min(1).max(4096).describe('the CSV recording (`.gz` is gunzipped); relative to device.json'),
  /** The recording's sampling rate in Hz. */
  rate: rateSchema.describe("the recording's sampling rate, in Hz"),
  speed: speedSchema.default(1).describe('playback speed: 1 is real time, `"max"` as fast as read'),
  loop: z.boolean().default(false).describe('start again at the end instead of ending'),
  header: z.union([z.boolean(), z.literal('auto')]).default('auto').describe('whether the first row names the columns; `"auto"`: when it is not numeric'),
  delimiter: z.string().min(1).max(4).default(',').describe('the column separator'),
  channels: z.array(replayChannelSchema).min(1).max(MAX_CHANNELS).describe('the columns to read, each one channel'),
  maxBytes: z.number().int().positive().max(MAX_REPLAY_BYTES).default(MAX_REPLAY_BYTES).describe('a larger file is refused, in bytes (after gunzip)'),
  maxRows: z.number().int().positive().max(MAX_REPLAY_ROWS).default(MAX_REPLAY_ROWS).describe('a file with more rows is refused'),
})

export type ReplayConfig = z.input<typeof replayConfigSchema>
export type ReplayConfigParsed = z.output<typeof replayConfigSchema>

const SUPPORTS: SensorSupports = {
  reconnect: false,
  realtime: false,
  speed: true,
  labels: false,
  finite: true,
  badInputStats: false,
}

export class ReplaySensor extends PacedSensor {
  readonly config: ReplayConfigParsed
  #data: Float32Array | undefined
  #rows = 0
  #loops = 0

  constructor(config: ReplayConfig, options: SensorOptions = {}) {
    const parsed = parseSensorConfig('replay', replayConfigSchema, config)
    super({
      id: parsed.id,
      driver: 'replay',
      rate: parsed.rate,
      speed: parsed.speed,
      channels: parsed.channels.map((c, i) => ({
        name: c.name ?? (typeof c.column === 'string' && nameSchema.safeParse(c.column).success ? c.column : `ch${i}`),
        unit: c.unit,
      })),
      supports: SUPPORTS,
      logger: options.logger,
    })
    this.config = parsed
  }

  /** Rows in the loaded recording (0 while closed). */
  get rows(): number {
    return this.#rows
  }

  protected override _stats(): Record<string, number> {
    return { rows: this.#rows, loops: this.#loops }
  }

  protected override async _load({ signal }: DriverCallOptions): Promise<void> {
    const csv = await readNumericCsv({
      file: this.config.file,
      columns: this.config.channels.map((c) => c.column),
      header: this.config.header,
      delimiter: this.config.delimiter,
      maxBytes: this.config.maxBytes,
      maxRows: this.config.maxRows,
      signal,
    })
    const width = csv.columns
    const data = csv.data
    this.config.channels.forEach((channel, c) => {
      for (let i = c; i < data.length; i += width) data[i] = ((data[i] as number) - channel.baseline) / channel.gain
    })
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        const row = Math.floor(i / width)
        throw new ReplayFormatError(this.config.file, 0, `row ${row}: value out of float32 range after scaling`, { details: { row } })
      }
    }
    this.#data = data
    this.#rows = csv.rows
    this.#loops = 0
    this.logger.debug({ rows: csv.rows, file: this.config.file }, 'replay loaded')
  }

  protected override _unload(): void {
    this.#data = undefined
    this.#rows = 0
  }

  protected override _sample(index: number): Sample | undefined {
    const data = this.#data
    if (data === undefined) return undefined
    let row = index
    if (index >= this.#rows) {
      if (!this.config.loop) return undefined
      row = index % this.#rows
      if (row === 0) this.#loops++
    }
    const width = this.channels.length
    return { values: data.slice(row * width, row * width + width) }
  }
}
