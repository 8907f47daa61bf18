export * from './round-record.js'
export * from './scoring.js'
export * from './build-round-record.js'
export * from './audit-round.js'
