// Validates a parsed configuration document against a zod schema; the first issue becomes a
// ConfigError that names the file and the field as a dotted path.
import type { z } from 'zod'
import { ConfigError } from '../errors.js'

export function parseConfig<S extends z.ZodType>(file: string, schema: S, value: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const path = issue === undefined ? [] : issue.path.map(String)
  if (issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0])
  const field = [...(prefix === '' ? [] : [prefix]), ...path].join('.')
  throw new ConfigError(file, field, issue?.message ?? 'invalid', { details: { issues: result.error.issues.length } })
}

/** JSON.parse, with a syntax error reported as a ConfigError on the file. */
export function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new ConfigError(file, '', `is not JSON (${(err as Error).message})`, { cause: err })
  }
}
