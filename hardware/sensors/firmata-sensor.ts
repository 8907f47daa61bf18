// `firmata`: a board running StandardFirmata, read through johnny-five. Analog pins come out in
// volts (raw / ADC max · vref); johnny-five Thermometer components, chosen by controller name,
// come out in °C.
//
// johnny-five talks to the board through firmata-io's Firmata class on a transport of our own
// over serialport 13, the project's only serialport (no second native build). The transport
// outlives the port: when the board is unplugged and comes back, the same Firmata and johnny-five
// Board carry on over the new port after a firmware query proves the board is there, and analog
// reporting is switched on again (a board that reset has forgotten it).
//
// johnny-five and firmata-io are loaded on first open, so importing the sensors costs nothing
// when no Firmata board is used.

import { EventEmitter } from 'node:events'
import type { FirmataTransport, Firmata as FirmataInstance } from 'firmata-io'
import type { Board, Thermometer } from 'johnny-five'
import type { SerialPort } from 'serialport'
import { z } from 'zod'
import { FirmataError } from '../errors.js'
import { AbstractSensor, abortable, now, type DriverCallOptions, type SensorOptions } from './abstract-sensor.js'
import {
  FIRMATA_DEFAULT_BAUD_RATE,
  FIRMATA_DEFAULT_RATE_HZ,
  FIRMATA_DEFAULT_SAMPLING_INTERVAL_MS,
  FIRMATA_DEFAULT_VREF,
  FIRMATA_HANDSHAKE_TIMEOUT_MS,
  FIRMATA_MAX_ANALOG_CHANNELS,
  FIRMATA_MAX_SAMPLING_INTERVAL_MS,
  FIRMATA_MIN_SAMPLING_INTERVAL_MS,
  FIRMATA_REPORT_VERSION_TIMEOUT_MS,
  FIRMATA_THERMOMETER_CONTROLLERS,
  MAX_CHANNELS,
  UNIT_CELSIUS,
  UNIT_VOLT,
} from './constants.js'
import { nameSchema, parseSensorConfig, reconnectSchema, sensorIdSchema } from './config.js'
import { SerialConnection } from './serial-connection.js'
import { baudRateSchema } from './serial-line-sensor.js'
import type { SensorSupports } from './sensor.js'

// What @types/johnny-five 2.1 leaves out of the parts used here.
declare module 'johnny-five' {
  interface BoardOption {
    /** Install a SIGINT handler that exits the process (johnny-five's default: true). */
    sigint?: boolean
  }
  interface Board {
    /** johnny-five's connect → ready timer; cleared on ready. */
    timer: NodeJS.Timeout | null
    once(event: 'ready', cb: () => void): this
    removeAllListeners(): this
  }
  interface ThermometerOption {
    /** Analog reference voltage (johnny-five default: 5). */
    aref?: number
    /** false: no 'data' timer of its own (johnny-five default: true). */
    enabled?: boolean
  }
}

/** 'A0'..'A15' or the analog channel number. */
export const analogPinSchema = z.union([
  z.number().int().min(0).max(FIRMATA_MAX_ANALOG_CHANNELS - 1),
  z
    .string()
    .regex(/^A(?:[0-9]|1[0-5])$/, "'A0' to 'A15'")
    .transform((p) => Number(p.slice(1))),
]).describe('`A0` to `A15`, or the analog channel number')

export const firmataAnalogSchema = z.strictObject({
  pin: analogPinSchema,
  name: nameSchema.describe('the channel name'),
})

export const firmataThermometerSchema = z.strictObject({
  pin: analogPinSchema,
  name: nameSchema.describe('the channel name (in °C)'),
  /** The johnny-five Thermometer controller: the sensor chip. */
  controller: z.enum(FIRMATA_THERMOMETER_CONTROLLERS).describe('the johnny-five Thermometer controller: the sensor chip'),
})

export const firmataConfigSchema = z
  .strictObject({
    driver: z.literal('firmata').describe('selects this driver'),
    id: sensorIdSchema,
    path: z.string().min(1).max(4096).describe("the board's serial device"),
    baudRate: baudRateSchema.default(FIRMATA_DEFAULT_BAUD_RATE).describe('line speed of the Firmata firmware'),
    /** Readings per second: the latest value of every channel, sampled at this rate. */
    rate: z.number().positive().max(1000).default(FIRMATA_DEFAULT_RATE_HZ).describe('readings per second: the latest value of every channel, sampled at this rate'),
    /** How often the board sends its analog values (Firmata SAMPLING_INTERVAL). */
    samplingIntervalMs: z
      .number()
      .int()
      .min(FIRMATA_MIN_SAMPLING_INTERVAL_MS)
      .max(FIRMATA_MAX_SAMPLING_INTERVAL_MS)
      .default(FIRMATA_DEFAULT_SAMPLING_INTERVAL_MS)
      .describe('how often the board sends its analog values (Firmata SAMPLING_INTERVAL), in ms'),
    /** Analog reference voltage: what a full-scale reading means. */
    vref: z.number().positive().max(50).default(FIRMATA_DEFAULT_VREF).describe('analog reference voltage: what a full-scale reading means'),
    reportVersionTimeoutMs: z.number().int().min(10).max(60_000).default(FIRMATA_REPORT_VERSION_TIMEOUT_MS).describe('wait for the board to report its firmware version, in ms'),
    handshakeTimeoutMs: z.number().int().min(100).max(120_000).default(FIRMATA_HANDSHAKE_TIMEOUT_MS).describe('wait for the whole Firmata handshake, in ms'),
    analog: z.array(firmataAnalogSchema).max(FIRMATA_MAX_ANALOG_CHANNELS).default([]).describe('analog pins read as raw volts'),
    thermometers: z.array(firmataThermometerSchema).max(FIRMATA_MAX_ANALOG_CHANNELS).default([]).describe('temperature sensors on analog pins'),
    reconnect: reconnectSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    const names = [...c.analog.map((a) => a.name), ...c.thermometers.map((a) => a.name)]
    if (names.length === 0) ctx.addIssue({ code: 'custom', path: ['analog'], message: 'at least one analog pin or thermometer is needed' })
    if (names.length > MAX_CHANNELS) ctx.addIssue({ code: 'custom', path: ['analog'], message: `at most ${MAX_CHANNELS} channels` })
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', path: ['analog'], message: 'channel names must be unique across analog and thermometers' })
  })

export type FirmataConfig = z.input<typeof firmataConfigSchema>
export type FirmataConfigParsed = z.output<typeof firmataConfigSchema>

const SUPPORTS: SensorSupports = {
  reconnect: true,
  realtime: true,
  speed: false,
  labels: false,
  finite: false,
  badInputStats: false,
}

/** The transport firmata-io writes to and reads from; it forwards to whichever port is current. */
class PortTransport extends EventEmitter implements FirmataTransport {
  #port: SerialPort | undefined

  attach(port: SerialPort): void {
    this.#port = port
  }

  detach(): void {
    this.#port = undefined
  }

  write(data: Buffer, callback?: (error?: Error | null) => void): boolean {
    const port = this.#port
    if (port === undefined || !port.isOpen) {
      // Unplugged: the command is lost, as on the wire; reporting is re-enabled on reconnect.
      if (callback !== undefined) process.nextTick(callback, null)
      return false
    }
    return port.write(data, callback)
  }
}

interface Johnny {
  readonly firmata: FirmataInstance
  readonly board: Board
  readonly thermometers: Thermometer[]
}

export class FirmataSensor extends AbstractSensor {
  readonly config: FirmataConfigParsed
  readonly #transport = new PortTransport()
  #johnny: Johnny | undefined
  #connection: SerialConnection | undefined
  #timer: NodeJS.Timeout | undefined
  // Latest value per channel (analog first, then thermometers) and whether it is fresh since (re)connect.
  readonly #latest: Float64Array
  readonly #fresh: Uint8Array
  #analogMessages = 0
  #handshakes = 0

  constructor(config: FirmataConfig, options: SensorOptions = {}) {
    const parsed = parseSensorConfig('firmata', firmataConfigSchema, config)
    super({
      id: parsed.id,
      driver: 'firmata',
      rate: parsed.rate,
      channels: [
        ...parsed.analog.map((a) => ({ name: a.name, unit: UNIT_VOLT })),
        ...parsed.thermometers.map((t) => ({ name: t.name, unit: UNIT_CELSIUS })),
      ],
      supports: SUPPORTS,
      logger: options.logger,
    })
    this.config = parsed
    this.#latest = new Float64Array(this.channels.length)
    this.#fresh = new Uint8Array(this.channels.length)
  }

  /** The firmware name and version the board reported, once open. */
  get firmware(): { name: string; major: number; minor: number } | undefined {
    const f = this.#johnny?.firmata.firmware
    if (f?.name === undefined || f.version === undefined) return undefined
    return { name: f.name, major: f.version.major, minor: f.version.minor }
  }

  protected override _stats(): Record<string, number> {
    return { analogMessages: this.#analogMessages, handshakes: this.#handshakes, portErrors: this.#connection?.errors ?? 0 }
  }

  protected override async _open({ signal }: DriverCallOptions): Promise<void> {
    const connection = new SerialConnection({
      sensor: this.id,
      path: this.config.path,
      baudRate: this.config.baudRate,
      reconnect: this.config.reconnect,
      logger: this.logger,
      onData: (chunk) => this.#transport.emit('data', chunk),
      onDisconnect: (error) => {
        this.#transport.detach()
        this.#fresh.fill(0)
        this._disconnected(error)
      },
      onReopen: (port, stop) => this.#resume(port, stop),
      onReconnect: () => this._reconnected(),
      onFail: (error) => this._failed(error),
    })
    const port = await connection.open(signal)
    this.#connection = connection
    try {
      if (this.#johnny === undefined) this.#johnny = await this.#handshake(port, signal)
      else await this.#resume(port, signal)
    } catch (error) {
      this.#connection = undefined
      this.#transport.detach()
      await connection.close()
      throw error
    }
    this.#fresh.fill(0)
    this.#timer = setInterval(this.#sample, 1000 / this.config.rate)
  }

  protected override async _close({ signal }: DriverCallOptions): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    const johnny = this.#johnny
    if (johnny !== undefined) {
      for (const channel of this.#reportedChannels()) johnny.firmata.reportAnalogPin(channel, 0)
    }
    const connection = this.#connection
    this.#connection = undefined
    const port = connection?.port
    // Let the report-off commands reach the board; serialport's drain() waits for 'open' on a closed port, hence the check.
    if (port?.isOpen === true) await abortable(new Promise<void>((resolve) => port.drain(() => resolve())), signal).catch((error: unknown) =>
        this.logger.debug({ err: error }, 'drain before close did not finish'),
      )
    this.#transport.detach()
    await connection?.close()
  }

  /** First connection: johnny-five's full handshake (version, firmware, capabilities, analog mapping). */
  async #handshake(port: SerialPort, signal: AbortSignal): Promise<Johnny> {
    const [{ default: bindTransport }, five] = await Promise.all([import('firmata-io'), import('johnny-five')])
    this.#transport.attach(port)
    const firmata = new bindTransport.Firmata(this.#transport, {
      reportVersionTimeout: this.config.reportVersionTimeoutMs,
      samplingInterval: this.config.samplingIntervalMs,
    })
    const board = new five.default.Board({
      io: firmata,
      repl: false,
      debug: false,
      sigint: false,
      // johnny-five's own connect→ready timer emits an error when it fires; ours must fire first
      // and clear it, so it gets twice as long.
      timeout: 2 * this.config.handshakeTimeoutMs,
    })
    // Neither may emit 'error' without a listener: that would throw out of the event loop.
    firmata.on('error', (error: Error) => this.logger.warn({ err: error }, 'firmata error'))
    board.on('error', (error: Error) => this.logger.warn({ err: error }, 'johnny-five error'))
    const ready = new Promise<void>((resolve) => board.once('ready', resolve))
    this.#transport.emit('open') // firmata-io → 'connect' → johnny-five starts waiting for 'ready'
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.config.handshakeTimeoutMs)])
    try {
      await abortable(ready, deadline)
    } catch (error) {
      if (board.timer !== null) clearTimeout(board.timer)
      if (firmata.reportVersionTimeoutId !== undefined) clearTimeout(firmata.reportVersionTimeoutId)
      board.removeAllListeners()
      firmata.removeAllListeners()
      if (signal.aborted) throw error
      throw new FirmataError(this.id, `no Firmata handshake within ${this.config.handshakeTimeoutMs} ms`, {
        cause: error,
        details: { path: this.config.path, versionReceived: firmata.versionReceived },
      })
    }
    this.#handshakes++
    const adcMax = firmata.RESOLUTION.ADC ?? 1023
    const channels = firmata.analogPins.length
    const check = (pin: number, field: string): void => {
      if (pin >= channels) {
        throw new FirmataError(this.id, `${field}: the board has no analog channel A${pin} (it has ${channels})`, { details: { pin, field } })
      }
    }
    this.config.analog.forEach((a, i) => check(a.pin, `analog.${i}.pin`))
    this.config.thermometers.forEach((t, i) => check(t.pin, `thermometers.${i}.pin`))

    // Our channel i reads analog channel pins[i]: the analog pins first, then the thermometers'.
    const pins = [...this.config.analog.map((a) => a.pin), ...this.config.thermometers.map((t) => t.pin)]
    const analogCount = this.config.analog.length
    // firmata-io emits `analog-read-N` (which johnny-five's components listen to) before the
    // generic `analog-read`, so a thermometer has its new raw value by the time this runs.
    firmata.on('analog-read', ({ pin, value }: { pin: number; value: number }) => {
      this.#analogMessages++
      for (let i = 0; i < pins.length; i++) {
        if (pins[i] !== pin) continue
        this.#fresh[i] = 1
        if (i < analogCount) this.#latest[i] = (value / adcMax) * this.config.vref
      }
    })
    for (const a of this.config.analog) {
      firmata.pinMode(a.pin, firmata.MODES.ANALOG) // firmata-io takes the analog channel for ANALOG mode
      firmata.reportAnalogPin(a.pin, 1)
    }
    // The johnny-five component does the chip's conversion (its controller's toCelsius) and the
    // driver reads `celsius` when it samples, so the component's own 'data' timer stays off
    // (johnny-five 2.1's enable() after disable() also never resets its flag, leaking the timer).
    const thermometers = this.config.thermometers.map(
      (t) => new five.default.Thermometer({ board, controller: t.controller, pin: `A${t.pin}`, enabled: false, aref: this.config.vref }),
    )
    this.logger.info({ firmware: firmata.firmware, channels }, 'firmata board ready')
    return { firmata, board, thermometers }
  }

  /**
   * A later connection (reopen, or reconnect after unplugging): the board must answer a firmware
   * query, then gets its sampling interval and analog reporting back.
   */
  async #resume(port: SerialPort, signal: AbortSignal): Promise<void> {
    const johnny = this.#johnny
    if (johnny === undefined) throw new FirmataError(this.id, 'no board to resume')
    const { firmata } = johnny
    firmata.buffer.length = 0 // a message cut by the unplugging must not prefix the next one
    this.#transport.attach(port)
    const answered = new Promise<void>((resolve) => firmata.queryFirmware(resolve))
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.config.handshakeTimeoutMs)])
    try {
      await abortable(answered, deadline)
    } catch (error) {
      firmata.removeAllListeners('queryfirmware')
      this.#transport.detach()
      if (signal.aborted) throw error
      throw new FirmataError(this.id, `the board did not answer a firmware query within ${this.config.handshakeTimeoutMs} ms`, { cause: error })
    }
    this.#handshakes++
    firmata.setSamplingInterval(this.config.samplingIntervalMs)
    for (const channel of this.#reportedChannels()) firmata.reportAnalogPin(channel, 1)
    this.#fresh.fill(0)
  }

  #reportedChannels(): Set<number> {
    return new Set([...this.config.analog.map((a) => a.pin), ...this.config.thermometers.map((t) => t.pin)])
  }

  readonly #sample = (): void => {
    if (this.status !== 'open') return
    for (let i = 0; i < this.#fresh.length; i++) if (this.#fresh[i] === 0) return
    const thermometers = this.#johnny?.thermometers ?? []
    const analogCount = this.config.analog.length
    thermometers.forEach((t, j) => (this.#latest[analogCount + j] = t.celsius))
    this._push(Float32Array.from(this.#latest), now())
  }
}
