// A content store of blobs (models, round records) keyed by sha256, in the abstract-level style:
// public methods validate and keep the invariants, backends implement the protected `_` methods.
// Partial blobs (an interrupted transfer) are kept apart from complete ones; a partial becomes
// complete only when its bytes hash to its key, so a store never serves unverified bytes.
import { createHash } from 'node:crypto'
import { bytesToHex, type Hex } from 'viem'
import { BlobHashMismatchError, BlobNotFoundError, InvalidArgumentError } from '../errors.js'
import { bytes32Schema } from '../eip712/schemas.js'

export interface BlobStoreOptions {
  signal?: AbortSignal
}

/** What a backend says it supports (abstract-level's `supports` manifest). */
export interface BlobStoreFeatures {
  /** Survives a restart of the process. */
  persistent: boolean
}

export interface BlobInfo {
  size: number
}

export function checkHash(hash: unknown, field = 'hash'): Hex {
  if (!bytes32Schema.safeParse(hash).success) throw new InvalidArgumentError(field, 'expected a 32-byte 0x-prefixed hex sha256')
  return (hash as Hex).toLowerCase() as Hex
}

function checkOffset(offset: unknown): number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
    throw new InvalidArgumentError('offset', 'expected a non-negative safe integer')
  return offset
}

export abstract class AbstractBlobStore {
  abstract readonly features: BlobStoreFeatures

  /** Size of a complete blob, or undefined when it is not held (partials do not count). */
  async stat(hash: Hex, options: BlobStoreOptions = {}): Promise<BlobInfo | undefined> {
    options.signal?.throwIfAborted()
    return this._stat(checkHash(hash))
  }

  async has(hash: Hex, options: BlobStoreOptions = {}): Promise<boolean> {
    return (await this.stat(hash, options)) !== undefined
  }

  /** The bytes of a complete blob from `offset`, in chunks of at most `chunkBytes`. */
  async *read(hash: Hex, offset: number, chunkBytes: number, options: BlobStoreOptions = {}): AsyncGenerator<Uint8Array> {
    const key = checkHash(hash)
    checkOffset(offset)
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new InvalidArgumentError('chunkBytes', 'expected a positive integer')
    const info = await this._stat(key)
    if (info === undefined) throw new BlobNotFoundError(key)
    if (offset > info.size) throw new InvalidArgumentError('offset', `beyond the blob's ${info.size} bytes`)
    for await (const chunk of this._read(key, offset, chunkBytes)) {
      options.signal?.throwIfAborted()
      yield chunk
    }
  }

  /** Reads a complete blob whole (for callers that need it in memory, e.g. to load a model). */
  async get(hash: Hex, options: BlobStoreOptions = {}): Promise<Uint8Array> {
    const info = await this.stat(hash, options)
    if (info === undefined) throw new BlobNotFoundError(hash)
    const out = new Uint8Array(info.size)
    let at = 0
    for await (const chunk of this.read(hash, 0, 1024 * 1024, options)) {
      out.set(chunk, at)
      at += chunk.length
    }
    return out
  }

  /** Stores bytes whose sha256 must be `hash`; bytes that hash otherwise are refused, not kept. */
  async put(hash: Hex, bytes: Uint8Array, options: BlobStoreOptions = {}): Promise<void> {
    const key = checkHash(hash)
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes', 'expected a Uint8Array')
    options.signal?.throwIfAborted()
    const actual = bytesToHex(createHash('sha256').update(bytes).digest())
    if (actual !== key) throw new BlobHashMismatchError(key, actual)
    if ((await this._stat(key)) !== undefined) return
    await this._deletePartial(key)
    await this._appendPartial(key, 0, bytes)
    await this._commitPartial(key)
  }

  /** Bytes already received of a partial blob: where a resumed transfer starts. */
  async partialSize(hash: Hex, options: BlobStoreOptions = {}): Promise<number> {
    options.signal?.throwIfAborted()
    return this._partialSize(checkHash(hash))
  }

  /** Appends to a partial blob; `offset` must equal its current size (no gaps, no overlap). */
  async appendPartial(hash: Hex, offset: number, chunk: Uint8Array, options: BlobStoreOptions = {}): Promise<void> {
    const key = checkHash(hash)
    checkOffset(offset)
    if (!(chunk instanceof Uint8Array) || chunk.length === 0) throw new InvalidArgumentError('chunk', 'expected a non-empty Uint8Array')
    options.signal?.throwIfAborted()
    const size = await this._partialSize(key)
    if (offset !== size) throw new InvalidArgumentError('offset', `the partial blob holds ${size} bytes, not ${offset}`)
    await this._appendPartial(key, offset, chunk)
  }

  /**
   * Hashes the partial blob; when it matches its key it becomes complete, otherwise it is
   * deleted and BlobHashMismatchError is thrown.
   */
  async commitPartial(hash: Hex, options: BlobStoreOptions = {}): Promise<BlobInfo> {
    const key = checkHash(hash)
    options.signal?.throwIfAborted()
    const digest = createHash('sha256')
    let size = 0
    for await (const chunk of this._readPartial(key)) {
      digest.update(chunk)
      size += chunk.length
    }
    const actual = bytesToHex(digest.digest())
    if (actual !== key) {
      await this._deletePartial(key)
      throw new BlobHashMismatchError(key, actual)
    }
    await this._commitPartial(key)
    return { size }
  }

  async deletePartial(hash: Hex, options: BlobStoreOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    await this._deletePartial(checkHash(hash))
  }

  async delete(hash: Hex, options: BlobStoreOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    await this._delete(checkHash(hash))
  }

  // Backends: hashes arrive checked and lower-case; offsets are checked against sizes above.
  protected abstract _stat(hash: Hex): Promise<BlobInfo | undefined>
  protected abstract _read(hash: Hex, offset: number, chunkBytes: number): AsyncIterable<Uint8Array>
  protected abstract _partialSize(hash: Hex): Promise<number>
  protected abstract _appendPartial(hash: Hex, offset: number, chunk: Uint8Array): Promise<void>
  protected abstract _readPartial(hash: Hex): AsyncIterable<Uint8Array>
  /** Makes the partial blob complete, atomically. */
  protected abstract _commitPartial(hash: Hex): Promise<void>
  protected abstract _deletePartial(hash: Hex): Promise<void>
  protected abstract _delete(hash: Hex): Promise<void>
}

/** Cuts stored segments into chunks of at most `chunkBytes`, starting at `offset`. */
export async function* sliceSegments(segments: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, offset: number, chunkBytes: number): AsyncGenerator<Uint8Array> {
  let skip = offset
  for await (const segment of segments) {
    if (skip >= segment.length) {
      skip -= segment.length
      continue
    }
    let at = skip
    skip = 0
    while (at < segment.length) {
      const end = Math.min(segment.length, at + chunkBytes)
      yield segment.subarray(at, end)
      at = end
    }
  }
}
