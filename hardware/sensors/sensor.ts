// The Sensor interface every driver implements, and the types it hands out. Drivers extend
// AbstractSensor (abstract-sensor.ts), which validates each call and then calls the driver.

/** One reading: every channel sampled at one instant. */
export interface Reading {
  /** The sensor's id. */
  readonly sensor: string
  /**
   * Milliseconds since the Unix epoch, with sub-millisecond precision. Live drivers (serial-line,
   * firmata) stamp the time the reading arrived; replay and synthetic stamp the data's own time
   * base, `openedAt + index * 1000 / rate`, whatever the replay speed.
   */
  readonly t: number
  /** One value per channel, in the order of `Sensor.channels`. */
  readonly values: Float32Array
  /** The unit of the values; when the channels differ, their units joined by `,` in channel order. */
  readonly unit: string
  /** Ground truth where the driver knows it (synthetic): `'normal'` or the anomaly's kind. */
  readonly label?: string
}

export interface ChannelInfo {
  readonly name: string
  readonly unit: string
}

/**
 * `closed` → `opening` → `open` ⇄ `disconnected` (live drivers) → `closing` → `closed`.
 * `ended`: a replay ran out of rows (and does not loop). `failed`: reconnection gave up.
 */
export type SensorStatus = 'closed' | 'opening' | 'open' | 'disconnected' | 'ended' | 'failed' | 'closing'

/** What a driver can do, declared up front (abstract-level's `supports`). */
export interface SensorSupports {
  /** Reports `disconnected` and reconnects by itself when its port comes back. */
  readonly reconnect: boolean
  /** Paced by a physical clock it cannot change (a real device). */
  readonly realtime: boolean
  /** Can run faster than its true rate (`speed` in its config). */
  readonly speed: boolean
  /** Readings carry ground-truth `label`s. */
  readonly labels: boolean
  /** Can run out of readings and `end`. */
  readonly finite: boolean
  /** Counts malformed input from its device in `stats` instead of failing. */
  readonly badInputStats: boolean
}

/** Counters every driver keeps; drivers add their own (see each driver's Stats type). */
export interface SensorStats {
  /** Readings produced. */
  readonly readings: number
  /** Readings dropped by a full `readings()` iterator (drop-oldest), summed over iterators. */
  readonly dropped: number
  readonly disconnects: number
  readonly reconnects: number
  /** Driver-specific counters, e.g. the serial-line driver's bad-input counts. */
  readonly [counter: string]: number
}

export interface OpenOptions {
  /** Aborts the open; without one, `OPEN_TIMEOUT_MS` applies. */
  readonly signal?: AbortSignal
}

export interface CloseOptions {
  readonly signal?: AbortSignal
}

export interface ReadingsOptions {
  /** Readings buffered before the oldest is dropped (and counted in `stats.dropped`). */
  readonly capacity?: number
  /** Ends the iteration (it returns `done`). */
  readonly signal?: AbortSignal
}

export interface DisconnectInfo {
  readonly error?: Error
}

/** Events, johnny-five style: `data` on every reading, `change` only when a value differs from the last. */
export interface SensorEvents {
  data: [reading: Reading]
  change: [reading: Reading]
  status: [status: SensorStatus]
  open: []
  close: []
  disconnected: [info: DisconnectInfo]
  reconnected: []
  end: []
  failed: [error: Error]
}

export interface Sensor extends AsyncIterable<Reading> {
  readonly id: string
  /** The driver name: `replay`, `synthetic`, `serial-line`, `firmata`. */
  readonly driver: string
  /** Nominal readings per second. */
  readonly rate: number
  readonly channels: readonly ChannelInfo[]
  /** See `Reading.unit`. */
  readonly unit: string
  readonly supports: SensorSupports
  readonly status: SensorStatus
  /** A snapshot of the counters. */
  readonly stats: SensorStats
  open(options?: OpenOptions): Promise<void>
  close(options?: CloseOptions): Promise<void>
  /**
   * A bounded async iterator over readings from now on. When the consumer falls behind, the oldest
   * buffered reading is dropped and counted; memory never grows past `capacity` readings.
   * It finishes when the sensor closes or ends, and throws when reconnection fails.
   */
  readings(options?: ReadingsOptions): AsyncIterableIterator<Reading>
  on<K extends keyof SensorEvents>(event: K, listener: (...args: SensorEvents[K]) => void): this
  once<K extends keyof SensorEvents>(event: K, listener: (...args: SensorEvents[K]) => void): this
  off<K extends keyof SensorEvents>(event: K, listener: (...args: SensorEvents[K]) => void): this
}
