export * from './level-blob-store.js'
