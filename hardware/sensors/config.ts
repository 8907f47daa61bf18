// Pieces shared by the drivers' config schemas, and the one place a zod failure becomes a
// SensorConfigError that names the field.

import { z } from 'zod'
import { SensorConfigError } from '../errors.js'
import {
  MAX_CHANNELS,
  MAX_NAME_LENGTH,
  MAX_RATE_HZ,
  MAX_RECONNECT_DELAY_MS,
  RECONNECT_FACTOR,
  RECONNECT_INITIAL_DELAY_MS,
  RECONNECT_JITTER,
  RECONNECT_MAX_DELAY_MS,
} from './constants.js'

/** Sensor and channel names: printable, no separators that would break a unit list or a metric label. */
export const nameSchema = z
  .string()
  .min(1)
  .max(MAX_NAME_LENGTH)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : - only')

/** A sensor's `id`. */
export const sensorIdSchema = nameSchema.describe("the sensor's name, unique on the device; it names the sensor in status, logs and errors")

/** Units are free text (°C, mV, m/s²) but short, printable and without `,` (the unit list separator). */
export const unitSchema = z
  .string()
  .min(1)
  .max(MAX_NAME_LENGTH)
  .regex(/^[^,\p{Cc}]+$/u, 'no commas or control characters')

export const rateSchema = z.number().positive().max(MAX_RATE_HZ)

export const channelNamesSchema = z
  .array(nameSchema)
  .min(1)
  .max(MAX_CHANNELS)
  .refine((names) => new Set(names).size === names.length, 'channel names must be unique')

export const reconnectSchema = z
  .strictObject({
    initialDelayMs: z.number().int().min(1).max(MAX_RECONNECT_DELAY_MS).default(RECONNECT_INITIAL_DELAY_MS).describe('wait before the first reopen, in ms'),
    maxDelayMs: z.number().int().min(1).max(MAX_RECONNECT_DELAY_MS).default(RECONNECT_MAX_DELAY_MS).describe('longest wait between reopens, in ms'),
    factor: z.number().min(1).max(16).default(RECONNECT_FACTOR).describe('each wait is the previous one times this'),
    jitter: z.number().min(0).max(1).default(RECONNECT_JITTER).describe('random spread of each wait, as a fraction of it'),
    /** Attempts after a disconnection before the sensor fails; absent: keep trying. */
    maxAttempts: z.number().int().positive().optional().describe('reopen attempts after a disconnection before the sensor fails; absent: keep trying'),
  })
  .refine((r) => r.maxDelayMs >= r.initialDelayMs, { message: 'must be ≥ initialDelayMs', path: ['maxDelayMs'] })
  .describe('how the port is reopened after it goes away')

export type ReconnectConfig = z.output<typeof reconnectSchema>

/**
 * Validates `input` against `schema` and returns a fresh, defaulted copy (the input is never
 * mutated). The first issue becomes a SensorConfigError naming its field as a dotted path.
 */
export function parseSensorConfig<S extends z.ZodType>(driver: string, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const path = issue === undefined ? [] : issue.path.map(String)
  // An unknown key is named by its own path, not its parent's.
  if (issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0])
  const field = path.join('.')
  throw new SensorConfigError(driver, field, issue?.message ?? 'invalid', {
    details: { issues: result.error.issues.length },
  })
}
