// Public API of hardware/: each sub-folder's index re-exports its own API; append yours.
export * from './errors.js'
export * from './sensors/index.js'
export * from './keys/index.js'
export * from './accelerators/index.js'
export * from './inference/index.js'
export * from './bundle/index.js'
export * from './storage/index.js'
export * from './chain/index.js'
