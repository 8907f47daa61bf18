// What the gateway makes public: every model, accepted update, optimiser state and round record it
// holds, as files named `0x<sha256>` in `<dataDir>/published/` (what `cw audit round --blobs` and
// `cw rewards claim --records` read) and in the blob stores its mesh node serves. Each file is
// written atomically, so a reader never sees half of one; publishing is idempotent.
import { mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { BlobHashMismatchError, contentId } from '../../protocols/index.js'
import type { AbstractBlobStore } from '../../protocols/mesh/index.js'
import { writeFileAtomic } from '../../hardware/keys/file/atomic-write.js'

export type PublishedKind = 'model' | 'record'

export interface PublisherParameters {
  /** `<dataDir>/published`. */
  directory: string
  /** Served over /counterweight/model/1.0.0. */
  models: AbstractBlobStore
  /** Served over /counterweight/record/1.0.0: round records and the updates and states they reference. */
  records: AbstractBlobStore
}

export class Publisher {
  readonly directory: string
  readonly #models: AbstractBlobStore
  readonly #records: AbstractBlobStore

  constructor(parameters: PublisherParameters) {
    this.directory = parameters.directory
    this.#models = parameters.models
    this.#records = parameters.records
  }

  async init(): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o755 })
  }

  /** The file a blob is published as. */
  pathOf(hash: Hex): string {
    return join(this.directory, hash.toLowerCase())
  }

  /** A published blob's bytes, or undefined when none is published under `hash`. */
  async read(hash: Hex): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.pathOf(hash))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  /** Publishes `bytes` (whose sha256 must be `hash` when given); returns the hash. */
  async publish(kind: PublishedKind, bytes: Uint8Array, hash?: Hex): Promise<Hex> {
    const actual = contentId(bytes)
    if (hash !== undefined && hash.toLowerCase() !== actual) throw new BlobHashMismatchError(hash, actual)
    const file = this.pathOf(actual)
    const existing = await stat(file).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    })
    if (existing?.size !== bytes.length) await writeFileAtomic({ path: file, data: bytes, mode: 0o644 })
    await (kind === 'model' ? this.#models : this.#records).put(actual, bytes)
    return actual
  }
}
