// What a line-oriented device sends, and how one line becomes one reading:
//   - 'csv':       `1.5,2.25,-3`            numbers in channel order;
//   - 'key-value': `t=21.5 rh=40 p=1013.2` pairs (`=` or `:`, separated by spaces, `,` or `;`),
//                  picked by channel name, in any order, extra keys ignored;
//   - 'nmea':      NMEA 0183 sentences with checksum; one sentence type becomes the channels
//                  (presets for GGA, RMC and MTW, or any fields by position).
// A parser never throws on device input: it returns the problem, which the driver counts.

import { z } from 'zod'
import { MAX_CHANNELS } from './constants.js'
import { nameSchema, unitSchema } from './config.js'
import { nmeaCoordinate, parseNmea } from './nmea.js'
import { parseNumber } from './parse-number.js'
import type { ChannelInfo } from './sensor.js'

export type LineProblem = 'nonNumeric' | 'wrongFieldCount' | 'missingKey' | 'badChecksum' | 'malformed' | 'ignoredSentence'
export const LINE_PROBLEMS: readonly LineProblem[] = ['nonNumeric', 'wrongFieldCount', 'missingKey', 'badChecksum', 'malformed', 'ignoredSentence']

const channelSchema = z.strictObject({ name: nameSchema.describe('the channel name (for key-value: the key it is read from)'), unit: unitSchema.default('1').describe("the channel's unit") })
const channelsSchema = z
  .array(channelSchema)
  .min(1)
  .max(MAX_CHANNELS)
  .refine((cs) => new Set(cs.map((c) => c.name)).size === cs.length, 'channel names must be unique')

export const csvFormatSchema = z.strictObject({
  kind: z.literal('csv'),
  /** ' ' splits on any run of spaces and tabs. */
  delimiter: z.enum([',', ';', '\t', ' ']).default(',').describe('the field separator; `" "` splits on any run of spaces and tabs'),
  channels: channelsSchema.describe('one per field, in order'),
})

export const keyValueFormatSchema = z.strictObject({
  kind: z.literal('key-value'),
  /** Each channel's name is the key it is read from. */
  channels: channelsSchema.describe('the keys to read, each one channel'),
})

export const NMEA_FIELD_KINDS = ['number', 'latitude', 'longitude'] as const

export const nmeaFieldSchema = z.strictObject({
  /** 1-based position after the address field; a latitude or longitude takes its hemisphere from the next field. */
  index: z.number().int().min(1).max(99).describe('1-based position after the address field'),
  name: nameSchema.describe('the channel name'),
  unit: unitSchema.default('1').describe("the channel's unit"),
  kind: z.enum(NMEA_FIELD_KINDS).default('number').describe('`latitude`/`longitude` read ddmm.mmmm and take the hemisphere from the next field'),
})
export type NmeaField = z.output<typeof nmeaFieldSchema>

/** Field positions from NMEA 0183 v4.10 §6.3 (GGA, RMC, MTW). */
export const NMEA_PRESETS: Readonly<Record<string, readonly NmeaField[]>> = {
  GGA: [
    { index: 2, name: 'latitude', unit: 'deg', kind: 'latitude' },
    { index: 4, name: 'longitude', unit: 'deg', kind: 'longitude' },
    { index: 6, name: 'quality', unit: '1', kind: 'number' },
    { index: 7, name: 'satellites', unit: '1', kind: 'number' },
    { index: 8, name: 'hdop', unit: '1', kind: 'number' },
    { index: 9, name: 'altitude', unit: 'm', kind: 'number' },
  ],
  RMC: [
    { index: 3, name: 'latitude', unit: 'deg', kind: 'latitude' },
    { index: 5, name: 'longitude', unit: 'deg', kind: 'longitude' },
    { index: 7, name: 'speed', unit: 'kn', kind: 'number' },
    { index: 8, name: 'course', unit: 'deg', kind: 'number' },
  ],
  MTW: [{ index: 1, name: 'temperature', unit: '°C', kind: 'number' }],
}

export const nmeaFormatSchema = z
  .strictObject({
    kind: z.literal('nmea'),
    /** The formatter of the sentences to read ('GGA'); other sentences are counted and ignored. */
    sentence: z.string().regex(/^[A-Z0-9]{3,9}$/, '3 to 9 upper-case letters or digits').describe('the sentence formatter to read (`GGA`, `RMC`, `MTW` have presets); others are counted and ignored'),
    /** Only sentences from this talker ('GP', 'GN'); absent: any. */
    talker: z.string().regex(/^[A-Z]{1,2}$/, 'one or two upper-case letters').optional().describe('only sentences from this talker (`GP`, `GN`); absent: any'),
    requireChecksum: z.boolean().default(true).describe('drop (and count as `badChecksum`) sentences without a valid `*hh` checksum'),
    /** Absent: the preset of `sentence`. */
    fields: z.array(nmeaFieldSchema).min(1).max(MAX_CHANNELS).optional().describe('the fields to read; absent: the preset of `sentence`'),
  })
  .superRefine((f, ctx) => {
    if (f.fields === undefined && NMEA_PRESETS[f.sentence] === undefined) {
      ctx.addIssue({ code: 'custom', path: ['fields'], message: `required: no preset for ${f.sentence} (presets: ${Object.keys(NMEA_PRESETS).join(', ')})` })
    }
    if (f.fields !== undefined && new Set(f.fields.map((x) => x.name)).size !== f.fields.length) {
      ctx.addIssue({ code: 'custom', path: ['fields'], message: 'field names must be unique' })
    }
  })

export const lineFormatSchema = z.discriminatedUnion('kind', [csvFormatSchema, keyValueFormatSchema, nmeaFormatSchema])
export type LineFormat = z.output<typeof lineFormatSchema>

export type LineParser = (line: string) => Float32Array | LineProblem

/** The channels a format yields, in order. */
export function formatChannels(format: LineFormat): ChannelInfo[] {
  if (format.kind !== 'nmea') return format.channels.map((c) => ({ name: c.name, unit: c.unit }))
  return nmeaFields(format).map((f) => ({ name: f.name, unit: f.unit }))
}

function nmeaFields(format: Extract<LineFormat, { kind: 'nmea' }>): readonly NmeaField[] {
  return format.fields ?? NMEA_PRESETS[format.sentence] ?? []
}

export function createLineParser(format: LineFormat): LineParser {
  switch (format.kind) {
    case 'csv':
      return csvParser(format.delimiter, format.channels.length)
    case 'key-value':
      return keyValueParser(format.channels.map((c) => c.name))
    case 'nmea':
      return nmeaParser(format.sentence, format.talker, format.requireChecksum, nmeaFields(format))
  }
}

function csvParser(delimiter: string, width: number): LineParser {
  const split = delimiter === ' ' ? (line: string) => line.trim().split(/[ \t]+/) : (line: string) => line.split(delimiter)
  return (line) => {
    const cells = split(line)
    if (cells.length !== width) return 'wrongFieldCount'
    const values = new Float32Array(width)
    for (let i = 0; i < width; i++) {
      const v = parseNumber((cells[i] as string).trim())
      if (v === undefined) return 'nonNumeric'
      values[i] = v
    }
    return values
  }
}

function keyValueParser(keys: readonly string[]): LineParser {
  const slot = new Map(keys.map((k, i) => [k, i]))
  return (line) => {
    const values = new Float32Array(keys.length)
    const seen = new Uint8Array(keys.length)
    let found = 0
    for (const token of line.split(/[\s,;]+/)) {
      if (token === '') continue
      let at = token.indexOf('=')
      if (at < 0) at = token.indexOf(':')
      if (at <= 0) return 'malformed'
      const i = slot.get(token.slice(0, at))
      if (i === undefined) continue
      const v = parseNumber(token.slice(at + 1))
      if (v === undefined) return 'nonNumeric'
      values[i] = v
      if (seen[i] === 0) {
        seen[i] = 1
        found++
      }
    }
    return found === keys.length ? values : 'missingKey'
  }
}

function nmeaParser(sentence: string, talker: string | undefined, requireChecksum: boolean, fields: readonly NmeaField[]): LineParser {
  return (line) => {
    const parsed = parseNmea(line, requireChecksum)
    if (typeof parsed === 'string') return parsed === 'malformed' ? 'malformed' : 'badChecksum'
    if (parsed.formatter !== sentence || (talker !== undefined && parsed.talker !== talker)) return 'ignoredSentence'
    const values = new Float32Array(fields.length)
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as NmeaField
      const text = parsed.fields[field.index - 1]
      if (text === undefined) return 'wrongFieldCount'
      let v: number | undefined
      if (field.kind === 'number') v = parseNumber(text)
      else {
        const hemisphere = parsed.fields[field.index]
        if (hemisphere === undefined) return 'wrongFieldCount'
        v = nmeaCoordinate(text, hemisphere, field.kind)
      }
      if (v === undefined) return 'nonNumeric'
      values[i] = v
    }
    return values
  }
}
