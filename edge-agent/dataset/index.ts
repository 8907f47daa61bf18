export * from './constants.js'
export * from './sample-codec.js'
export * from './sample-store.js'
export * from './split.js'
