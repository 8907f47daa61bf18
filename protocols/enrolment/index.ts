export * from './constants.js'
export { canonicalJson, type JsonValue } from './canonical-json.js'
export * from './enrolment-request.js'
