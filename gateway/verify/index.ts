export * from './reasons.js'
export * from './registry.js'
export * from './verify-submission.js'
export * from './update-verifier.js'
