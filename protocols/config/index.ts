export * from './parse-config.js'
export * from './fleet-file.js'
