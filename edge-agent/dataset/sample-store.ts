// The device's local data set: a level-backed ring buffer of samples (features, optional
// label, time). Bounded by a sample count and a byte budget: adding past either drops the
// oldest samples in the same atomic, fsynced batch that adds the new ones, so the store, its
// counts and its per-class tallies survive restarts and crashes consistently.
import { Level } from 'level'
import type { Logger } from 'pino'
import { InvalidArgumentError } from '../../protocols/errors.js'
import { DatasetClosedError, DatasetCorruptError } from '../errors.js'
import {
  DATASET_MAX_BYTES,
  DATASET_MAX_BYTES_LIMIT,
  DATASET_MAX_SAMPLES,
  DATASET_MAX_SAMPLES_LIMIT,
  MAX_ADD_BATCH,
} from './constants.js'
import { checkSample, decodeSample, encodeSample, type Sample } from './sample-codec.js'

export interface OpenSampleStoreParameters {
  /** Directory of the level database. */
  location: string
  maxSamples?: number
  maxBytes?: number
  logger?: Logger
}

export interface StoredSample extends Sample {
  /** Position in the stream of every sample ever added (never reused). */
  seq: number
}

export interface AddSamplesReturnType {
  added: number
  /** Oldest samples dropped to make room. */
  evicted: number
}

interface Meta {
  version: 1
  /** Seq of the next sample added. */
  next: number
  /** Seq of the oldest sample held. */
  oldest: number
  count: number
  bytes: number
  classes: Record<string, number>
  unlabelled: number
}

const META_KEY = 'meta'
const SYNC = { sync: true } as const
const seqKey = (seq: number): string => seq.toString(16).padStart(14, '0')

function limit(field: string, value: number | undefined, fallback: number, max: number): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < 1 || v > max) throw new InvalidArgumentError(field, `must be an integer in 1..${max}`)
  return v
}

export class SampleStore {
  readonly maxSamples: number
  readonly maxBytes: number
  readonly #db: Level<string, unknown>
  readonly #samples
  readonly #log: Logger | undefined
  #meta: Meta
  #closed = false
  /** Writes run one at a time, so that each sees the metadata the previous one left. */
  #queue: Promise<unknown> = Promise.resolve()

  private constructor(db: Level<string, unknown>, meta: Meta, maxSamples: number, maxBytes: number, logger: Logger | undefined) {
    this.#db = db
    this.#samples = db.sublevel<string, Uint8Array>('sample', { valueEncoding: 'view' })
    this.#meta = meta
    this.maxSamples = maxSamples
    this.maxBytes = maxBytes
    this.#log = logger
  }

  static async open(parameters: OpenSampleStoreParameters): Promise<SampleStore> {
    if (typeof parameters.location !== 'string' || parameters.location === '') throw new InvalidArgumentError('location', 'must be a directory path')
    const maxSamples = limit('maxSamples', parameters.maxSamples, DATASET_MAX_SAMPLES, DATASET_MAX_SAMPLES_LIMIT)
    const maxBytes = limit('maxBytes', parameters.maxBytes, DATASET_MAX_BYTES, DATASET_MAX_BYTES_LIMIT)
    const db = new Level<string, unknown>(parameters.location, { valueEncoding: 'json' })
    await db.open()
    let meta: Meta
    try {
      const stored = (await db.get(META_KEY)) as Meta | undefined
      meta = stored ?? { version: 1, next: 0, oldest: 0, count: 0, bytes: 0, classes: {}, unlabelled: 0 }
      if (meta.version !== 1 || !Number.isSafeInteger(meta.next) || !Number.isSafeInteger(meta.count)) throw new DatasetCorruptError(META_KEY, 'unknown metadata')
    } catch (err) {
      await db.close()
      throw err
    }
    const store = new SampleStore(db, meta, maxSamples, maxBytes, parameters.logger?.child({ component: 'agent:dataset' }))
    // Caps lowered since the last run apply at once.
    if (meta.count > maxSamples || meta.bytes > maxBytes) await store.add([])
    store.#log?.info({ count: meta.count, bytes: meta.bytes }, 'sample store opened')
    return store
  }

  get size(): number {
    return this.#meta.count
  }

  get bytes(): number {
    return this.#meta.bytes
  }

  /** Samples held per label; unlabelled samples are counted under `unlabelled`. */
  classCounts(): { classes: Record<string, number>; unlabelled: number } {
    return { classes: { ...this.#meta.classes }, unlabelled: this.#meta.unlabelled }
  }

  /** Adds samples in one atomic batch, dropping the oldest past the caps. */
  async add(samples: Sample | readonly Sample[], options: { signal?: AbortSignal } = {}): Promise<AddSamplesReturnType> {
    if (this.#closed) throw new DatasetClosedError()
    const list = Array.isArray(samples) ? samples : [samples as Sample]
    if (list.length > MAX_ADD_BATCH) throw new InvalidArgumentError('samples', `more than ${MAX_ADD_BATCH} in one add`)
    const encoded = list.map((s, i) => {
      const checked = checkSample(s, `samples[${i}]`)
      const bytes = encodeSample(checked)
      if (bytes.length > this.maxBytes) throw new InvalidArgumentError(`samples[${i}]`, `${bytes.length} bytes exceed the store's ${this.maxBytes}`)
      return { label: checked.label, bytes }
    })
    options.signal?.throwIfAborted()
    const run = this.#queue.then(() => this.#add(encoded))
    this.#queue = run.catch(() => undefined)
    return run
  }

  async #add(encoded: { label: string | undefined; bytes: Uint8Array }[]): Promise<AddSamplesReturnType> {
    if (this.#closed) throw new DatasetClosedError()
    const meta: Meta = { ...this.#meta, classes: { ...this.#meta.classes } }
    const tally = (label: string | undefined, delta: number): void => {
      if (label === undefined) meta.unlabelled += delta
      else {
        const n = (meta.classes[label] ?? 0) + delta
        if (n === 0) delete meta.classes[label]
        else meta.classes[label] = n
      }
    }
    const batch = this.#db.batch()
    const fresh: { seq: number; label: string | undefined; size: number }[] = []
    for (const e of encoded) {
      const seq = meta.next++
      fresh.push({ seq, label: e.label, size: e.bytes.length })
      batch.put(seqKey(seq), e.bytes, { sublevel: this.#samples })
      meta.count++
      meta.bytes += e.bytes.length
      tally(e.label, 1)
    }
    // Evict the oldest: stored ones in key order, then (when one add overflows) new ones.
    let evicted = 0
    const over = (): boolean => meta.count > this.maxSamples || meta.bytes > this.maxBytes
    if (over() && meta.oldest < meta.next - fresh.length) {
      for await (const [key, value] of this.#samples.iterator({ gte: seqKey(meta.oldest), lt: seqKey(meta.next - fresh.length) })) {
        if (!over()) break
        const sample = decodeSample(value, key)
        batch.del(key, { sublevel: this.#samples })
        meta.count--
        meta.bytes -= value.length
        tally(sample.label, -1)
        meta.oldest = Number.parseInt(key, 16) + 1
        evicted++
      }
    }
    for (const f of fresh) {
      if (!over()) break
      batch.del(seqKey(f.seq), { sublevel: this.#samples })
      meta.count--
      meta.bytes -= f.size
      tally(f.label, -1)
      meta.oldest = f.seq + 1
      evicted++
    }
    if (meta.count === 0) meta.oldest = meta.next
    batch.put(META_KEY, meta)
    await batch.write(SYNC)
    this.#meta = meta
    if (evicted > 0) this.#log?.debug({ evicted, count: meta.count }, 'oldest samples dropped')
    return { added: encoded.length, evicted }
  }

  /** Every sample held, oldest first. */
  async *samples(options: { signal?: AbortSignal } = {}): AsyncGenerator<StoredSample> {
    if (this.#closed) throw new DatasetClosedError()
    for await (const [key, value] of this.#samples.iterator()) {
      options.signal?.throwIfAborted()
      yield { seq: Number.parseInt(key, 16), ...decodeSample(value, key) }
    }
  }

  async all(options: { signal?: AbortSignal } = {}): Promise<StoredSample[]> {
    const out: StoredSample[] = []
    for await (const s of this.samples(options)) out.push(s)
    return out
  }

  /** Drops every sample (the sequence numbers go on). */
  async clear(): Promise<void> {
    if (this.#closed) throw new DatasetClosedError()
    const run = this.#queue.then(async () => {
      await this.#samples.clear()
      const meta: Meta = { version: 1, next: this.#meta.next, oldest: this.#meta.next, count: 0, bytes: 0, classes: {}, unlabelled: 0 }
      await this.#db.put(META_KEY, meta, SYNC)
      this.#meta = meta
    })
    this.#queue = run.catch(() => undefined)
    return run
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#queue
    await this.#db.close()
  }
}
