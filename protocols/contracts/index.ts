export * from './artifacts.js'
export * from './is-settled-model.js'
export * from './read-round-settlement.js'
export * from './list-fleet-devices.js'
