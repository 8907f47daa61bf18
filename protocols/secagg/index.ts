export * from './constants.js'
export * from './shamir.js'
export * from './quantise.js'
export * from './secagg.js'
