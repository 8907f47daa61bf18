// The base of drivers that generate their readings (replay, synthetic): it paces them at the
// true rate times `speed`, or at `'max'` as fast as the slowest iterator takes them.
//
// Pacing is by elapsed time, not by counting timer ticks: every tick emits all readings due by
// now, so timer jitter never changes the average rate. Timestamps are on the data's own time
// base, `openedAt + index * 1000 / rate`, whatever the speed.

import { AbstractSensor, now, type AbstractSensorInit, type DriverCallOptions } from './abstract-sensor.js'
import { MAX_BATCH, PACE_TICK_MS } from './constants.js'

export type Speed = number | 'max'

export interface PacedSensorInit extends AbstractSensorInit {
  readonly speed: Speed
}

export interface Sample {
  readonly values: Float32Array
  readonly label?: string
}

export abstract class PacedSensor extends AbstractSensor {
  /** Speed-up over the true rate, or `'max'`. */
  readonly speed: Speed
  #index = 0
  #openedAt = 0
  #startedAt = 0
  #running = false
  #timeout: NodeJS.Timeout | undefined
  #immediate: NodeJS.Immediate | undefined

  constructor(init: PacedSensorInit) {
    super(init)
    this.speed = init.speed
  }

  /** Readings emitted since open. */
  protected get _index(): number {
    return this.#index
  }

  /** Prepares the source (reads a file, seeds a generator). */
  protected abstract _load(options: DriverCallOptions): Promise<void>
  /** Releases what `_load` took. */
  protected abstract _unload(): void
  /** The reading at `index` (0-based since open), or `undefined` when the source has run out. */
  protected abstract _sample(index: number): Sample | undefined

  protected override async _open(options: DriverCallOptions): Promise<void> {
    await this._load(options)
    this.#index = 0
    this.#openedAt = now()
    this.#startedAt = performance.now()
    this.#running = true
    // The first tick runs after open() has set the status to `open`.
    this.#immediate = setImmediate(this.#tick)
  }

  protected override async _close(): Promise<void> {
    this.#stop()
    this._unload()
  }

  #stop(): void {
    this.#running = false
    if (this.#timeout !== undefined) clearTimeout(this.#timeout)
    if (this.#immediate !== undefined) clearImmediate(this.#immediate)
    this.#timeout = undefined
    this.#immediate = undefined
  }

  readonly #tick = (): void => {
    this.#timeout = undefined
    this.#immediate = undefined
    if (!this.#running || this.status !== 'open') return
    if (this.speed === 'max') {
      const room = this._room()
      if (room === 0) {
        // Every reader is full: wait until one takes a reading rather than drop what we generate.
        void this._whenRoom().then(() => {
          if (this.#running && this.#timeout === undefined && this.#immediate === undefined) {
            this.#immediate = setImmediate(this.#tick)
          }
        })
        return
      }
      if (!this.#emit(Math.min(MAX_BATCH, room))) return
      this.#immediate = setImmediate(this.#tick)
      return
    }
    const elapsed = performance.now() - this.#startedAt
    const due = Math.floor((elapsed * this.rate * this.speed) / 1000) + 1
    const backlog = due - this.#index
    if (backlog > 0 && !this.#emit(Math.min(backlog, MAX_BATCH))) return
    if (backlog > MAX_BATCH) this.#immediate = setImmediate(this.#tick)
    else this.#timeout = setTimeout(this.#tick, PACE_TICK_MS)
  }

  /** Emits `count` readings; false when the source ran out (the sensor is then `ended`). */
  #emit(count: number): boolean {
    const period = 1000 / this.rate
    for (let i = 0; i < count; i++) {
      if (!this.#running) return false
      const sample = this._sample(this.#index)
      if (sample === undefined) {
        this.#stop()
        this._ended()
        return false
      }
      this._push(sample.values, this.#openedAt + this.#index * period, sample.label)
      this.#index++
    }
    return true
  }
}
