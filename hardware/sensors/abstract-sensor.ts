// The base every driver extends, in the abstract-level style: the public methods validate the
// call and the sensor's status, then call the driver's protected `_open`/`_close`. Drivers report
// back through the protected `_push`, `_disconnected`, `_reconnected`, `_ended` and `_failed`,
// and the base turns those into events, bounded iterators and counters.

import { EventEmitter } from 'node:events'
import { pino, type Logger } from 'pino'
import { BaseError, InvalidArgumentError } from '../../protocols/errors.js'
import { SensorOpenError, SensorStateError } from '../errors.js'
import { BoundedQueue } from './bounded-queue.js'
import { CLOSE_TIMEOUT_MS, DEFAULT_QUEUE_CAPACITY, MAX_QUEUE_CAPACITY, OPEN_TIMEOUT_MS } from './constants.js'
import type {
  ChannelInfo,
  CloseOptions,
  OpenOptions,
  Reading,
  ReadingsOptions,
  Sensor,
  SensorEvents,
  SensorStats,
  SensorStatus,
  SensorSupports,
} from './sensor.js'

export interface AbstractSensorInit {
  readonly id: string
  readonly driver: string
  readonly rate: number
  readonly channels: readonly ChannelInfo[]
  readonly supports: SensorSupports
  readonly logger?: Logger | undefined
}

/** What every driver's constructor takes besides its config. */
export interface SensorOptions {
  /** A pino logger; the driver logs through a child named `hardware:sensors:<driver>`. */
  readonly logger?: Logger
}

export interface DriverCallOptions {
  readonly signal: AbortSignal
}

/** The time base of readings: epoch milliseconds with the sub-millisecond precision of `performance.now()`. */
export const now = (): number => performance.timeOrigin + performance.now()

const silentLogger = (): Logger => pino({ enabled: false })

export abstract class AbstractSensor extends EventEmitter<SensorEvents> implements Sensor {
  readonly id: string
  readonly driver: string
  readonly rate: number
  readonly channels: readonly ChannelInfo[]
  readonly unit: string
  readonly supports: SensorSupports
  protected readonly logger: Logger

  #status: SensorStatus = 'closed'
  #opening: Promise<void> | undefined
  #closing: Promise<void> | undefined
  // Per-instance: each iterator removes its queue when it finishes, so nothing outlives its reader.
  readonly #queues = new Set<BoundedQueue<Reading>>()
  #roomWaiters: (() => void)[] = []
  #last: Float32Array
  #hasLast = false
  #readings = 0
  #dropped = 0
  #disconnects = 0
  #reconnects = 0

  constructor(init: AbstractSensorInit) {
    super()
    this.id = init.id
    this.driver = init.driver
    this.rate = init.rate
    this.channels = Object.freeze(init.channels.map((c) => Object.freeze({ ...c })))
    const units = [...new Set(this.channels.map((c) => c.unit))]
    this.unit = units.length === 1 ? (units[0] as string) : this.channels.map((c) => c.unit).join(',')
    this.supports = Object.freeze({ ...init.supports })
    this.logger = (init.logger ?? silentLogger()).child({ component: `hardware:sensors:${init.driver}`, sensor: init.id })
    this.#last = new Float32Array(this.channels.length)
  }

  get status(): SensorStatus {
    return this.#status
  }

  get stats(): SensorStats {
    return {
      ...this._stats(),
      readings: this.#readings,
      dropped: this.#dropped,
      disconnects: this.#disconnects,
      reconnects: this.#reconnects,
    }
  }

  async open(options: OpenOptions = {}): Promise<void> {
    switch (this.#status) {
      case 'open':
      case 'disconnected':
        return
      case 'opening':
        return this.#opening
      case 'closing':
        await this.#closing
        return this.open(options)
      case 'ended':
      case 'failed':
        throw new SensorStateError(this.id, 'open', this.#status, { details: { hint: 'close() first' } })
      case 'closed':
        break
    }
    const signal = options.signal ?? AbortSignal.timeout(OPEN_TIMEOUT_MS)
    this.#opening = this.#doOpen(signal)
    try {
      await this.#opening
    } finally {
      this.#opening = undefined
    }
  }

  async #doOpen(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new SensorOpenError(this.id, 'aborted before it began', { cause: signal.reason })
    this.#setStatus('opening')
    this.#hasLast = false
    const opening = this._open({ signal })
    try {
      await abortable(opening, signal)
    } catch (error) {
      // If the abort won the race, the driver may still finish opening: undo that once it does.
      // (When the driver's own open failed, it has cleaned up after itself.)
      if (signal.aborted) {
        opening
          .then(
            () => this._close({ signal: AbortSignal.timeout(CLOSE_TIMEOUT_MS) }),
            (late: unknown) => this.logger.debug({ err: late }, 'open failed after it was abandoned'),
          )
          .catch((late: unknown) => this.logger.warn({ err: late }, 'close after an abandoned open failed'))
      }
      this.#setStatus('closed')
      if (error instanceof BaseError) throw error
      const reason = signal.aborted ? 'aborted or timed out' : error instanceof Error ? error.message : String(error)
      throw new SensorOpenError(this.id, reason, { cause: error })
    }
    this.#setStatus('open')
    this.logger.debug('open')
    this.emit('open')
  }

  async close(options: CloseOptions = {}): Promise<void> {
    switch (this.#status) {
      case 'closed':
        return
      case 'closing':
        return this.#closing
      case 'opening':
        await this.#opening?.catch(() => undefined) // the opener sees its own error
        return this.close(options)
      default:
        break
    }
    const signal = options.signal ?? AbortSignal.timeout(CLOSE_TIMEOUT_MS)
    this.#closing = this.#doClose(signal)
    try {
      await this.#closing
    } finally {
      this.#closing = undefined
    }
  }

  async #doClose(signal: AbortSignal): Promise<void> {
    this.#setStatus('closing')
    try {
      await abortable(this._close({ signal }), signal)
    } finally {
      for (const queue of this.#queues) queue.end()
      this.#queues.clear()
      this.#releaseRoomWaiters()
      this.#setStatus('closed')
      this.logger.debug('closed')
      this.emit('close')
    }
  }

  readings(options: ReadingsOptions = {}): AsyncIterableIterator<Reading> {
    const capacity = options.capacity ?? DEFAULT_QUEUE_CAPACITY
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_QUEUE_CAPACITY) {
      throw new InvalidArgumentError('capacity', `must be an integer in 1..${MAX_QUEUE_CAPACITY}`)
    }
    if (this.#status === 'closed' || this.#status === 'closing' || this.#status === 'failed') {
      throw new SensorStateError(this.id, 'read', this.#status)
    }
    const queue = new BoundedQueue<Reading>(capacity, {
      onDrop: () => this.#dropped++,
      onTake: () => this.#releaseRoomWaiters(),
    })
    if (this.#status === 'ended') queue.end()
    else this.#queues.add(queue)

    const signal = options.signal
    const finish = (): void => {
      signal?.removeEventListener('abort', finish)
      queue.clear()
      this.#queues.delete(queue)
      this.#releaseRoomWaiters()
    }
    if (signal !== undefined) {
      if (signal.aborted) finish()
      else signal.addEventListener('abort', finish, { once: true })
    }
    const iterator: AsyncIterableIterator<Reading> = {
      next: async () => {
        try {
          const result = await queue.next()
          if (result.done === true) finish()
          return result
        } catch (error) {
          finish()
          throw error
        }
      },
      return: async () => {
        finish()
        return { value: undefined, done: true }
      },
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }

  [Symbol.asyncIterator](): AsyncIterator<Reading> {
    return this.readings()
  }

  // --- for drivers ---------------------------------------------------------------------------

  /** Opens the device or source; throws (after cleaning up) when it cannot. Honour `signal`. */
  protected abstract _open(options: DriverCallOptions): Promise<void>
  /** Releases everything `_open` took. Called once per successful open, also after `ended`/`failed`. */
  protected abstract _close(options: DriverCallOptions): Promise<void>
  /** Driver-specific counters, merged into `stats`. */
  protected _stats(): Record<string, number> {
    return {}
  }

  /** Hands out one reading. `values` must be a fresh array of `channels.length` values that nobody mutates afterwards. */
  protected _push(values: Float32Array, t: number, label?: string): void {
    if (this.#status !== 'open') return
    if (values.length !== this.channels.length) {
      throw new InvalidArgumentError('values', `expected ${this.channels.length} channels, got ${values.length}`)
    }
    const reading: Reading =
      label === undefined
        ? { sensor: this.id, t, values, unit: this.unit }
        : { sensor: this.id, t, values, unit: this.unit, label }
    this.#readings++
    const changed = !this.#hasLast || !sameValues(this.#last, values)
    this.#last.set(values)
    this.#hasLast = true
    for (const queue of this.#queues) queue.push(reading)
    this.emit('data', reading)
    if (changed) this.emit('change', reading)
  }

  /** Free slots in the fullest iterator queue (`Infinity` when nobody iterates). */
  protected _room(): number {
    let room = Infinity
    for (const queue of this.#queues) room = Math.min(room, queue.room)
    return room
  }

  /** Resolves once some iterator took a reading, finished, or the sensor closed. */
  protected _whenRoom(): Promise<void> {
    return new Promise((resolve) => this.#roomWaiters.push(resolve))
  }

  protected _disconnected(error?: Error): void {
    if (this.#status !== 'open') return
    this.#disconnects++
    this.#setStatus('disconnected')
    this.logger.warn({ err: error }, 'disconnected')
    this.emit('disconnected', error === undefined ? {} : { error })
  }

  protected _reconnected(): void {
    if (this.#status !== 'disconnected') return
    this.#reconnects++
    this.#hasLast = false
    this.#setStatus('open')
    this.logger.info('reconnected')
    this.emit('reconnected')
  }

  /** The source ran out: iterators drain and finish; the sensor stays `ended` until closed. */
  protected _ended(): void {
    if (this.#status !== 'open') return
    this.#setStatus('ended')
    for (const queue of this.#queues) queue.end()
    this.#queues.clear()
    this.#releaseRoomWaiters()
    this.emit('end')
  }

  /** The driver gave up (e.g. reconnection failed): iterators drain, then throw `error`. */
  protected _failed(error: Error): void {
    if (this.#status !== 'open' && this.#status !== 'disconnected') return
    this.#setStatus('failed')
    for (const queue of this.#queues) queue.fail(error)
    this.#queues.clear()
    this.#releaseRoomWaiters()
    this.logger.error({ err: error }, 'failed')
    this.emit('failed', error)
  }

  #setStatus(status: SensorStatus): void {
    if (status === this.#status) return
    this.#status = status
    this.emit('status', status)
  }

  #releaseRoomWaiters(): void {
    if (this.#roomWaiters.length === 0) return
    const waiters = this.#roomWaiters
    this.#roomWaiters = []
    for (const resolve of waiters) resolve()
  }
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) {
    // Object.is so that NaN equals NaN and a stuck NaN is not a change every time.
    if (!Object.is(a[i], b[i])) return false
  }
  return true
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error as Error)
      },
    )
  })
}
