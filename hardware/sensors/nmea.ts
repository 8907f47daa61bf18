// NMEA 0183 sentences (NMEA 0183 v4.10 §5): `$` or `!`, an address field (talker + formatter, or
// `P` + maker for proprietary sentences), comma-separated data fields, then `*hh`, the XOR of
// every character between the start character and `*`, in two hex digits.

import { parseNumber } from './parse-number.js'

export interface NmeaSentence {
  /** 'GP', 'GN', 'II', … ('P' for proprietary sentences). */
  readonly talker: string
  /** 'GGA', 'RMC', 'MTW', … (the maker code and sentence for proprietary ones). */
  readonly formatter: string
  /** Data fields after the address; `fields[0]` is field 1. */
  readonly fields: readonly string[]
}

export type NmeaProblem = 'badChecksum' | 'missingChecksum' | 'malformed'

const ADDRESS = /^(?:P[A-Z0-9]{1,8}|[A-Z]{2}[A-Z0-9]{3})$/
const HEX = /^[0-9A-Fa-f]{2}$/

/** XOR of the characters of `body` (the text between the start character and `*`). */
export function nmeaChecksum(body: string): number {
  let sum = 0
  for (let i = 0; i < body.length; i++) sum ^= body.charCodeAt(i)
  return sum
}

/** Appends the checksum: `GPGGA,…` → `$GPGGA,…*hh`. For emulators and tests. */
export function formatNmea(body: string): string {
  return `$${body}*${nmeaChecksum(body).toString(16).toUpperCase().padStart(2, '0')}`
}

/** Parses one sentence (without CR LF); returns the problem instead of throwing. */
export function parseNmea(line: string, requireChecksum = true): NmeaSentence | NmeaProblem {
  const first = line.charCodeAt(0)
  if (first !== 0x24 /* $ */ && first !== 0x21 /* ! */) return 'malformed'
  const star = line.lastIndexOf('*')
  let body: string
  if (star < 0) {
    if (requireChecksum) return 'missingChecksum'
    body = line.slice(1)
  } else {
    const hex = line.slice(star + 1)
    if (!HEX.test(hex)) return 'malformed'
    body = line.slice(1, star)
    if (nmeaChecksum(body) !== parseInt(hex, 16)) return 'badChecksum'
  }
  const parts = body.split(',')
  const address = parts[0] as string
  if (!ADDRESS.test(address)) return 'malformed'
  const proprietary = address.startsWith('P')
  return {
    talker: proprietary ? 'P' : address.slice(0, 2),
    formatter: proprietary ? address.slice(1) : address.slice(2),
    fields: parts.slice(1),
  }
}

/**
 * A latitude (`ddmm.mmmm`) or longitude (`dddmm.mmmm`) field and its hemisphere field, in signed
 * decimal degrees (south and west negative); `undefined` when either field is empty or invalid.
 */
export function nmeaCoordinate(value: string, hemisphere: string, axis: 'latitude' | 'longitude'): number | undefined {
  const raw = parseNumber(value)
  if (raw === undefined || raw < 0) return undefined
  const degrees = Math.floor(raw / 100)
  const minutes = raw - degrees * 100
  if (minutes >= 60) return undefined
  const decimal = degrees + minutes / 60
  if (decimal > (axis === 'latitude' ? 90 : 180)) return undefined
  const [positive, negative] = axis === 'latitude' ? ['N', 'S'] : ['E', 'W']
  if (hemisphere === positive) return decimal
  if (hemisphere === negative) return -decimal
  return undefined
}
