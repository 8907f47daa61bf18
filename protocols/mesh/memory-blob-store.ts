// A blob store in memory: for tests, benchmarks and nodes that keep nothing across restarts.
import type { Hex } from 'viem'
import { AbstractBlobStore, sliceSegments, type BlobInfo, type BlobStoreFeatures } from './blob-store.js'

interface Entry {
  segments: Uint8Array[]
  size: number
}

export class MemoryBlobStore extends AbstractBlobStore {
  readonly features: BlobStoreFeatures = { persistent: false }
  readonly #complete = new Map<Hex, Entry>()
  readonly #partial = new Map<Hex, Entry>()

  protected async _stat(hash: Hex): Promise<BlobInfo | undefined> {
    const entry = this.#complete.get(hash)
    return entry === undefined ? undefined : { size: entry.size }
  }

  protected _read(hash: Hex, offset: number, chunkBytes: number): AsyncIterable<Uint8Array> {
    return sliceSegments(this.#complete.get(hash)?.segments ?? [], offset, chunkBytes)
  }

  protected async _partialSize(hash: Hex): Promise<number> {
    return this.#partial.get(hash)?.size ?? 0
  }

  protected async _appendPartial(hash: Hex, _offset: number, chunk: Uint8Array): Promise<void> {
    const entry = this.#partial.get(hash) ?? { segments: [], size: 0 }
    // Copy: the caller's buffer may be a view into a reused network buffer.
    entry.segments.push(chunk.slice())
    entry.size += chunk.length
    this.#partial.set(hash, entry)
  }

  protected async *_readPartial(hash: Hex): AsyncIterable<Uint8Array> {
    yield* this.#partial.get(hash)?.segments ?? []
  }

  protected async _commitPartial(hash: Hex): Promise<void> {
    // A blob of zero bytes has no partial entry; it still becomes complete.
    const entry = this.#partial.get(hash) ?? { segments: [], size: 0 }
    this.#partial.delete(hash)
    this.#complete.set(hash, entry)
  }

  protected async _deletePartial(hash: Hex): Promise<void> {
    this.#partial.delete(hash)
  }

  protected async _delete(hash: Hex): Promise<void> {
    this.#complete.delete(hash)
    this.#partial.delete(hash)
  }
}
