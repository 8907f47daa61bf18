export * from './constants.js'
export * from './backoff.js'
export * from './outbox.js'
export * from './mesh-sender.js'
