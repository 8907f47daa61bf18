import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { LevelBlobStore } from '../../../hardware/storage/level-blob-store.js'
import type { AbstractBlobStore } from '../../../protocols/mesh/index.js'
import { blobStoreConformance } from '../../protocols/mesh/blob-store-conformance.js'

const dir = await mkdtemp(join(tmpdir(), 'cw-level-blobs-'))
const open = new Map<AbstractBlobStore, { db: Level<string, unknown>; location: string }>()
let n = 0
t.teardown(async () => {
  for (const { db } of open.values()) await db.close()
  await rm(dir, { recursive: true, force: true })
})

async function at(location: string): Promise<AbstractBlobStore> {
  const db = new Level<string, unknown>(location)
  await db.open()
  const store = new LevelBlobStore({ db })
  open.set(store, { db, location })
  return store
}

t.equal(new LevelBlobStore({ db: new Level<string, unknown>(join(dir, 'features')) }).features.persistent, true, 'declares itself persistent')
blobStoreConformance(t, {
  make: () => at(join(dir, `db-${++n}`)),
  reopen: async (store) => {
    const entry = open.get(store)
    if (entry === undefined) throw new Error('unknown store')
    await entry.db.close()
    open.delete(store)
    return at(entry.location)
  },
})
