export * from './config-file.js'
export * from './fleet-file-io.js'
export * from './device-bundle.js'
