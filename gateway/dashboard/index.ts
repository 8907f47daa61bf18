export * from './constants.js'
export * from './login-token.js'
export * from './device-activity.js'
export * from './dashboard.js'
