// Canonical JSON after RFC 8785 (JSON Canonicalization Scheme): object members sorted by key
// (UTF-16 code units, which is how JavaScript compares strings, RFC 8785 §3.2.3), no whitespace,
// strings and numbers as ECMAScript's JSON.stringify writes them (RFC 8785 §3.2.2). Used where a
// JSON value is signed, so that signer and verifier hash the same bytes whatever the key order.
import { InvalidArgumentError } from '../errors.js'
import { MAX_CANONICAL_JSON_DEPTH } from './constants.js'

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

function canonical(value: unknown, field: string, depth: number): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(field, 'expected a finite number')
    return JSON.stringify(value)
  }
  if (depth >= MAX_CANONICAL_JSON_DEPTH) throw new InvalidArgumentError(field, `nested deeper than ${MAX_CANONICAL_JSON_DEPTH}`)
  if (Array.isArray(value)) return `[${value.map((v, i) => canonical(v, `${field}.${i}`, depth + 1)).join(',')}]`
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v, `${field}.${k}`, depth + 1)}`).join(',')}}`
  }
  throw new InvalidArgumentError(field, `expected a JSON value, got ${typeof value}`)
}

/** The canonical JSON text of `value`; InvalidArgumentError naming `field` for what JSON cannot hold. */
export function canonicalJson(value: unknown, field = 'value'): string {
  return canonical(value, field, 0)
}
