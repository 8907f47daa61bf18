// Turns a stream of readings into fixed-length, overlapping model inputs.
//
// A window holds `length` consecutive readings and a new one starts every `hop` readings (hop <
// length overlaps, hop > length skips). Each channel is normalised on its own, and the result is
// one Float32Array in the layout the model wants:
//   - 'channels-first': shape [channels, length], channel c's samples contiguous (PyTorch Conv1d, NCW);
//   - 'channels-last':  shape [length, channels], one row per reading (Keras Conv1D/LSTM, NWC).
// Normalisation:
//   - 'z-score': (x - mean) / std, with given stats, running stats over every reading seen so far
//     (Welford), or the window's own stats;
//   - 'min-max': (x - min) / (max - min), into [0, 1] for the same three sources of min and max;
//   - 'none'.
// NORMALISE_EPSILON keeps a flat channel at 0 instead of NaN.

import { InvalidArgumentError } from '../../protocols/errors.js'
import { MAX_CHANNELS, MAX_WINDOW_LENGTH, NORMAL_LABEL, NORMALISE_EPSILON } from './constants.js'
import type { Reading } from './sensor.js'

export type WindowLayout = 'channels-first' | 'channels-last'

export type Normalisation =
  | { readonly kind: 'none' }
  | { readonly kind: 'z-score'; readonly stats: 'running' | 'window' | { readonly mean: readonly number[]; readonly std: readonly number[] } }
  | { readonly kind: 'min-max'; readonly stats: 'running' | 'window' | { readonly min: readonly number[]; readonly max: readonly number[] } }

export interface WindowOptions {
  readonly channels: number
  /** Readings per window. */
  readonly length: number
  /** Readings from the start of one window to the start of the next. Defaults to `length`. */
  readonly hop?: number
  /** Defaults to 'channels-first'. */
  readonly layout?: WindowLayout
  /** Defaults to `{ kind: 'none' }`. */
  readonly normalise?: Normalisation
}

export interface SensorWindow {
  /** Normalised values in `layout` order. */
  readonly data: Float32Array
  /** [channels, length] or [length, channels]. */
  readonly shape: readonly [number, number]
  readonly layout: WindowLayout
  /** 0-based count of windows emitted. */
  readonly index: number
  /** `t` of the first and last reading. */
  readonly start: number
  readonly end: number
  /** Where readings carry labels: the first non-normal label in the window, else 'normal'. */
  readonly label?: string
}

type WindowInput = Pick<Reading, 't' | 'values'> & { readonly label?: string | undefined }

function checkInt(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(field, `must be an integer in ${min}..${max}`)
}

function checkStats(field: string, values: readonly number[], channels: number): void {
  if (!Array.isArray(values) || values.length !== channels) throw new InvalidArgumentError(field, `must hold ${channels} numbers, one per channel`)
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgumentError(`${field}.${i}`, 'must be a finite number')
  })
}

export class Windower {
  readonly channels: number
  readonly length: number
  readonly hop: number
  readonly layout: WindowLayout
  readonly normalise: Normalisation
  // Ring of the last `length` readings, row-major.
  readonly #ring: Float32Array
  readonly #times: Float64Array
  readonly #labels: (string | undefined)[]
  #pos = 0
  #filled = 0
  #sinceLast = 0
  #emitted = 0
  #anyLabel = false
  // Running statistics over every reading pushed (Welford's algorithm; min and max).
  #count = 0
  readonly #mean: Float64Array
  readonly #m2: Float64Array
  readonly #min: Float64Array
  readonly #max: Float64Array
  readonly #scale: Float64Array
  readonly #shift: Float64Array

  constructor(options: WindowOptions) {
    checkInt('channels', options.channels, 1, MAX_CHANNELS)
    checkInt('length', options.length, 1, MAX_WINDOW_LENGTH)
    checkInt('hop', options.hop ?? options.length, 1, MAX_WINDOW_LENGTH)
    const layout = options.layout ?? 'channels-first'
    if (layout !== 'channels-first' && layout !== 'channels-last') throw new InvalidArgumentError('layout', "must be 'channels-first' or 'channels-last'")
    const normalise = options.normalise ?? { kind: 'none' }
    const channels = options.channels
    switch (normalise.kind) {
      case 'none':
        break
      case 'z-score':
        if (typeof normalise.stats === 'object') {
          checkStats('normalise.stats.mean', normalise.stats.mean, channels)
          checkStats('normalise.stats.std', normalise.stats.std, channels)
          normalise.stats.std.forEach((s, i) => {
            if (s <= 0) throw new InvalidArgumentError(`normalise.stats.std.${i}`, 'must be > 0')
          })
        } else if (normalise.stats !== 'running' && normalise.stats !== 'window') {
          throw new InvalidArgumentError('normalise.stats', "must be 'running', 'window' or given stats")
        }
        break
      case 'min-max':
        if (typeof normalise.stats === 'object') {
          checkStats('normalise.stats.min', normalise.stats.min, channels)
          checkStats('normalise.stats.max', normalise.stats.max, channels)
          const { min, max } = normalise.stats
          max.forEach((m, i) => {
            if (m <= (min[i] as number)) throw new InvalidArgumentError(`normalise.stats.max.${i}`, 'must be > min')
          })
        } else if (normalise.stats !== 'running' && normalise.stats !== 'window') {
          throw new InvalidArgumentError('normalise.stats', "must be 'running', 'window' or given stats")
        }
        break
      default:
        throw new InvalidArgumentError('normalise.kind', "must be 'none', 'z-score' or 'min-max'")
    }
    this.channels = channels
    this.length = options.length
    this.hop = options.hop ?? options.length
    this.layout = layout
    this.normalise = structuredClone(normalise)
    this.#ring = new Float32Array(this.length * channels)
    this.#times = new Float64Array(this.length)
    this.#labels = new Array<string | undefined>(this.length)
    this.#mean = new Float64Array(channels)
    this.#m2 = new Float64Array(channels)
    this.#min = new Float64Array(channels).fill(Infinity)
    this.#max = new Float64Array(channels).fill(-Infinity)
    this.#scale = new Float64Array(channels)
    this.#shift = new Float64Array(channels)
  }

  /** Adds one reading; returns the window it completes, if any. */
  push(reading: WindowInput): SensorWindow | undefined {
    const values = reading.values
    const channels = this.channels
    if (values.length !== channels) throw new InvalidArgumentError('reading.values', `expected ${channels} channels, got ${values.length}`)
    const base = this.#pos * channels
    this.#count++
    for (let c = 0; c < channels; c++) {
      const x = values[c] as number
      this.#ring[base + c] = x
      const delta = x - (this.#mean[c] as number)
      this.#mean[c] = (this.#mean[c] as number) + delta / this.#count
      this.#m2[c] = (this.#m2[c] as number) + delta * (x - (this.#mean[c] as number))
      if (x < (this.#min[c] as number)) this.#min[c] = x
      if (x > (this.#max[c] as number)) this.#max[c] = x
    }
    this.#times[this.#pos] = reading.t
    this.#labels[this.#pos] = reading.label
    if (reading.label !== undefined) this.#anyLabel = true
    this.#pos = (this.#pos + 1) % this.length
    if (this.#filled < this.length) this.#filled++
    this.#sinceLast++
    // The first window completes when the ring fills; later ones every `hop` readings.
    if (this.#filled < this.length) return undefined
    if (this.#emitted > 0 && this.#sinceLast < this.hop) return undefined
    if (this.#emitted === 0 && this.#sinceLast < this.length) return undefined
    this.#sinceLast = 0
    return this.#emit()
  }

  /** Forgets buffered readings (a gap in the stream); running statistics are kept. */
  reset(): void {
    this.#pos = 0
    this.#filled = 0
    this.#sinceLast = 0
    this.#emitted = 0
  }

  #emit(): SensorWindow {
    const { channels, length } = this
    const oldest = this.#pos // the ring is full, so the next write slot holds the oldest reading
    this.#computeTransform(oldest)
    const data = new Float32Array(length * channels)
    const channelsFirst = this.layout === 'channels-first'
    for (let i = 0; i < length; i++) {
      const row = ((oldest + i) % length) * channels
      for (let c = 0; c < channels; c++) {
        const v = ((this.#ring[row + c] as number) - (this.#shift[c] as number)) * (this.#scale[c] as number)
        data[channelsFirst ? c * length + i : i * channels + c] = v
      }
    }
    let label: string | undefined
    if (this.#anyLabel) {
      label = NORMAL_LABEL
      for (let i = 0; i < length; i++) {
        const l = this.#labels[(oldest + i) % length]
        if (l !== undefined && l !== NORMAL_LABEL) {
          label = l
          break
        }
      }
    }
    const base = {
      data,
      shape: (channelsFirst ? [channels, length] : [length, channels]) as readonly [number, number],
      layout: this.layout,
      index: this.#emitted++,
      start: this.#times[oldest] as number,
      end: this.#times[(oldest + length - 1) % length] as number,
    }
    return label === undefined ? base : { ...base, label }
  }

  /** Sets `shift` and `scale` so that the output is (x - shift) * scale per channel. */
  #computeTransform(oldest: number): void {
    const n = this.normalise
    const { channels, length } = this
    for (let c = 0; c < channels; c++) {
      let shift = 0
      let scale = 1
      if (n.kind === 'z-score') {
        let mean: number
        let std: number
        if (n.stats === 'running') {
          mean = this.#mean[c] as number
          std = Math.sqrt((this.#m2[c] as number) / this.#count)
        } else if (n.stats === 'window') {
          let sum = 0
          for (let i = 0; i < length; i++) sum += this.#ring[((oldest + i) % length) * channels + c] as number
          mean = sum / length
          let sq = 0
          for (let i = 0; i < length; i++) {
            const d = (this.#ring[((oldest + i) % length) * channels + c] as number) - mean
            sq += d * d
          }
          std = Math.sqrt(sq / length)
        } else {
          mean = n.stats.mean[c] as number
          std = n.stats.std[c] as number
        }
        shift = mean
        scale = 1 / (std + NORMALISE_EPSILON)
      } else if (n.kind === 'min-max') {
        let min: number
        let max: number
        if (n.stats === 'running') {
          min = this.#min[c] as number
          max = this.#max[c] as number
        } else if (n.stats === 'window') {
          min = Infinity
          max = -Infinity
          for (let i = 0; i < length; i++) {
            const v = this.#ring[i * channels + c] as number
            if (v < min) min = v
            if (v > max) max = v
          }
        } else {
          min = n.stats.min[c] as number
          max = n.stats.max[c] as number
        }
        shift = min
        scale = 1 / (max - min + NORMALISE_EPSILON)
      }
      this.#shift[c] = shift
      this.#scale[c] = scale
    }
  }
}

/**
 * Windows over an async stream of readings. Ends when the stream ends or `signal` aborts (at once,
 * without waiting for the next reading); either way the source iterator is returned.
 */
export async function* windows(
  source: AsyncIterable<Reading>,
  options: WindowOptions,
  { signal }: { readonly signal?: AbortSignal } = {},
): AsyncGenerator<SensorWindow, void, undefined> {
  const windower = new Windower(options)
  const iterator = source[Symbol.asyncIterator]()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted')
    if (signal?.aborted === true) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
  })
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted])
      if (next === 'aborted' || next.done === true) return
      const window = windower.push(next.value)
      if (window !== undefined) yield window
    }
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    await iterator.return?.()
  }
}
