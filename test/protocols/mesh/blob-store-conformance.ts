// The conformance suite every AbstractBlobStore backend runs (abstract-level's model): the same
// behaviour, the same typed errors, whatever holds the bytes.
import type { Test } from 'tap'
import { contentId } from '../../../protocols/index.js'
import type { AbstractBlobStore } from '../../../protocols/mesh/index.js'
import { pseudoRandomBytes } from './fleet-fixture.js'

export interface ConformanceOptions {
  /** A fresh, empty store. */
  make: () => Promise<AbstractBlobStore>
  /** The same store opened again (a restart), for persistent backends. */
  reopen?: (store: AbstractBlobStore) => Promise<AbstractBlobStore>
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<{ bytes: Uint8Array; sizes: number[] }> {
  const parts: Uint8Array[] = []
  for await (const chunk of chunks) parts.push(chunk.slice())
  return { bytes: Buffer.concat(parts), sizes: parts.map((p) => p.length) }
}

export function blobStoreConformance(t: Test, { make, reopen }: ConformanceOptions): void {
  const blob = pseudoRandomBytes(3 * 1024 + 5, 3)
  const hash = contentId(blob)

  t.test('put, stat, get, read from an offset in bounded chunks', async (t) => {
    const store = await make()
    t.equal(await store.stat(hash), undefined, 'absent at first')
    await store.put(hash, blob)
    t.same(await store.stat(hash), { size: blob.length })
    t.ok(await store.has(hash.toUpperCase().replace('0X', '0x') as never), 'hash case does not matter')
    t.same(await store.get(hash), blob)
    const { bytes, sizes } = await collect(store.read(hash, 1000, 1024))
    t.ok(Buffer.from(blob.subarray(1000)).equals(bytes), 'bytes from the offset')
    t.ok(sizes.every((s) => s <= 1024), 'no chunk above the asked size')
    t.same((await collect(store.read(hash, blob.length, 1024))).bytes.length, 0, 'reading at the end gives nothing')
  })

  t.test('put refuses bytes that do not hash to the key', async (t) => {
    const store = await make()
    await t.rejects(store.put(hash, blob.subarray(1)), { code: 'CW_BLOB_HASH_MISMATCH' })
    t.equal(await store.stat(hash), undefined, 'nothing kept')
  })

  t.test('partials: append in order, commit verifies, a mismatch is deleted', async (t) => {
    const store = await make()
    t.equal(await store.partialSize(hash), 0)
    await store.appendPartial(hash, 0, blob.subarray(0, 1000))
    await t.rejects(store.appendPartial(hash, 500, blob.subarray(500, 600)), { code: 'CW_INVALID_ARGUMENT' }, 'an overlapping append')
    await t.rejects(store.appendPartial(hash, 2000, blob.subarray(2000)), { code: 'CW_INVALID_ARGUMENT' }, 'a gap')
    t.equal(await store.partialSize(hash), 1000)
    t.notOk(await store.has(hash), 'a partial is not held')
    await t.rejects(collect(store.read(hash, 0, 1024)), { code: 'CW_BLOB_NOT_FOUND' }, 'nor served')
    await store.appendPartial(hash, 1000, blob.subarray(1000))
    t.same(await store.commitPartial(hash), { size: blob.length })
    t.same(await store.get(hash), blob, 'committed bytes read back')
    t.equal(await store.partialSize(hash), 0, 'no partial left')

    const other = pseudoRandomBytes(2048, 4)
    const otherHash = contentId(other)
    await store.appendPartial(otherHash, 0, other.subarray(0, 1024))
    await store.appendPartial(otherHash, 1024, new Uint8Array(1024)) // wrong bytes
    await t.rejects(store.commitPartial(otherHash), { code: 'CW_BLOB_HASH_MISMATCH' })
    t.equal(await store.partialSize(otherHash), 0, 'the bad partial is gone')
    t.notOk(await store.has(otherHash))
  })

  t.test('an empty blob, deletes, bad arguments', async (t) => {
    const store = await make()
    const empty = contentId(new Uint8Array(0))
    await store.put(empty, new Uint8Array(0))
    t.same(await store.stat(empty), { size: 0 })
    await store.put(hash, blob)
    await store.delete(hash)
    t.notOk(await store.has(hash), 'deleted')
    await t.rejects(store.stat('0x1234' as never), { code: 'CW_INVALID_ARGUMENT' })
    await t.rejects(store.appendPartial(hash, -1, blob), { code: 'CW_INVALID_ARGUMENT' })
    await t.rejects(store.appendPartial(hash, 0, new Uint8Array(0)), { code: 'CW_INVALID_ARGUMENT' })
    await t.rejects(collect(store.read(empty, 1, 1024)), { code: 'CW_INVALID_ARGUMENT' }, 'an offset past the end')
    const aborted = AbortSignal.abort(new Error('stop'))
    await t.rejects(store.stat(hash, { signal: aborted }), 'an aborted signal is honoured')
  })

  if (reopen !== undefined)
    t.test('blobs and partials survive a reopen', async (t) => {
      const store = await make()
      await store.put(hash, blob)
      const other = pseudoRandomBytes(2048, 5)
      const otherHash = contentId(other)
      await store.appendPartial(otherHash, 0, other.subarray(0, 700))
      const again = await reopen(store)
      t.same(await again.get(hash), blob)
      t.equal(await again.partialSize(otherHash), 700)
      await again.appendPartial(otherHash, 700, other.subarray(700))
      t.same(await again.commitPartial(otherHash), { size: 2048 })
    })
}
