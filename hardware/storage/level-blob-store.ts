// A blob store in a level database: a device's model cache or a gateway's published blobs, kept across restarts so that it can
// serve what it holds and resume an interrupted transfer. Each blob is a run of segments (one per
// received frame, ≤ 1 MiB each) under `data`, and one `meta` entry; every change is one atomic
// batch, so a crash leaves either the old or the new state.
import type { AbstractLevel, AbstractSublevel } from 'abstract-level'
import type { Hex } from 'viem'
import { AbstractBlobStore, sliceSegments, type BlobInfo, type BlobStoreFeatures } from '../../protocols/mesh/index.js'

interface Meta {
  size: number
  segments: number
  complete: boolean
}

type Db = AbstractLevel<string | Uint8Array | Buffer, string, unknown>

/** Segment keys sort in order: hash, '!', zero-padded index. */
const segmentKey = (hash: Hex, index: number): string => `${hash}!${index.toString(16).padStart(8, '0')}`
const SEGMENT_RANGE_END = '~'

export interface LevelBlobStoreParameters {
  /** An open (or opening) level database; the store uses two sublevels of it. */
  db: Db
  /** Sublevel prefix, so that several stores can share one database. */
  name?: string
}

export class LevelBlobStore extends AbstractBlobStore {
  readonly features: BlobStoreFeatures = { persistent: true }
  readonly #meta: AbstractSublevel<Db, string | Uint8Array | Buffer, string, Meta>
  readonly #data: AbstractSublevel<Db, string | Uint8Array | Buffer, string, Uint8Array>

  constructor({ db, name = 'blobs' }: LevelBlobStoreParameters) {
    super()
    this.#meta = db.sublevel<string, Meta>(`${name}-meta`, { valueEncoding: 'json' })
    this.#data = db.sublevel<string, Uint8Array>(`${name}-data`, { valueEncoding: 'view' })
  }

  async #getMeta(hash: Hex): Promise<Meta | undefined> {
    return this.#meta.get(hash)
  }

  protected async _stat(hash: Hex): Promise<BlobInfo | undefined> {
    const meta = await this.#getMeta(hash)
    return meta?.complete === true ? { size: meta.size } : undefined
  }

  #segments(hash: Hex): AsyncIterable<Uint8Array> {
    return this.#data.values({ gt: `${hash}!`, lt: `${hash}!${SEGMENT_RANGE_END}` })
  }

  protected _read(hash: Hex, offset: number, chunkBytes: number): AsyncIterable<Uint8Array> {
    return sliceSegments(this.#segments(hash), offset, chunkBytes)
  }

  protected async _partialSize(hash: Hex): Promise<number> {
    const meta = await this.#getMeta(hash)
    return meta === undefined || meta.complete ? 0 : meta.size
  }

  protected async _appendPartial(hash: Hex, _offset: number, chunk: Uint8Array): Promise<void> {
    const meta = (await this.#getMeta(hash)) ?? { size: 0, segments: 0, complete: false }
    await this.#data.db.batch([
      { type: 'put', sublevel: this.#data, key: segmentKey(hash, meta.segments), value: chunk },
      { type: 'put', sublevel: this.#meta, key: hash, value: { size: meta.size + chunk.length, segments: meta.segments + 1, complete: false } },
    ])
  }

  protected _readPartial(hash: Hex): AsyncIterable<Uint8Array> {
    return this.#segments(hash)
  }

  protected async _commitPartial(hash: Hex): Promise<void> {
    const meta = (await this.#getMeta(hash)) ?? { size: 0, segments: 0, complete: false }
    await this.#meta.put(hash, { ...meta, complete: true })
  }

  async #deleteAll(hash: Hex): Promise<void> {
    const keys: string[] = []
    for await (const key of this.#data.keys({ gt: `${hash}!`, lt: `${hash}!${SEGMENT_RANGE_END}` })) keys.push(key)
    await this.#data.db.batch([
      ...keys.map((key) => ({ type: 'del' as const, sublevel: this.#data, key })),
      { type: 'del', sublevel: this.#meta, key: hash },
    ])
  }

  protected async _deletePartial(hash: Hex): Promise<void> {
    const meta = await this.#getMeta(hash)
    if (meta !== undefined && !meta.complete) await this.#deleteAll(hash)
  }

  protected async _delete(hash: Hex): Promise<void> {
    await this.#deleteAll(hash)
  }
}
