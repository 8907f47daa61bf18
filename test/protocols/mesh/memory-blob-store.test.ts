import t from 'tap'
import { MemoryBlobStore } from '../../../protocols/mesh/index.js'
import { blobStoreConformance } from './blob-store-conformance.js'

t.equal(new MemoryBlobStore().features.persistent, false, 'declares itself non-persistent')
blobStoreConformance(t, { make: async () => new MemoryBlobStore() })
