// The configuration reference (docs/configuration.md), generated from the zod schemas that
// validate each file, and the CLI reference (docs/cli.md), generated from the `cw` program itself.
// `npm run docs` writes both; test/docs/reference.test.ts fails when either is out of date.
import type { Command, Option } from 'commander'
import { z } from 'zod'
import { fleetFileSchema } from '../protocols/index.js'
import { deviceBundleSchema, firmataConfigSchema, keyStoreConfigSchema, replayConfigSchema, serialLineConfigSchema, syntheticConfigSchema } from '../hardware/index.js'
import { gatewayConfigSchema } from '../gateway/daemon/index.js'
import { agentConfigSchema } from '../edge-agent/daemon/config.js'

interface JsonSchema {
  type?: string | string[]
  const?: unknown
  enum?: unknown[]
  default?: unknown
  description?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  oneOf?: JsonSchema[]
  anyOf?: JsonSchema[]
  additionalProperties?: JsonSchema | boolean
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  pattern?: string
  format?: string
}

interface Row {
  field: string
  type: string
  required: string
  description: string
  /** Whether the schema gives the field a description (constraints alone do not count). */
  described: boolean
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const literal = (value: unknown): string => `\`${JSON.stringify(value)}\``

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return literal(s.const)
  if (s.enum !== undefined) return s.enum.map(literal).join(' | ')
  const alternatives = s.oneOf ?? s.anyOf
  if (alternatives !== undefined) return alternatives.map(typeOf).join(' or ')
  const base = Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any')
  if (base === 'array' && s.items !== undefined) return `array of ${typeOf(s.items)}`
  if (base === 'object' && s.properties === undefined && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties)}`
  return base
}

function constraints(s: JsonSchema): string[] {
  const out: string[] = []
  const range = (lo: number | undefined, hi: number | undefined, what: string): void => {
    if (lo !== undefined && hi !== undefined) out.push(`${what} ${lo}..${hi}`)
    else if (lo !== undefined) out.push(`${what} ≥ ${lo}`)
    else if (hi !== undefined) out.push(`${what} ≤ ${hi}`)
  }
  range(s.minimum, s.maximum, 'value')
  if (s.exclusiveMinimum !== undefined) out.push(`value > ${s.exclusiveMinimum}`)
  if (s.exclusiveMaximum !== undefined) out.push(`value < ${s.exclusiveMaximum}`)
  range(s.minLength, s.maxLength, 'length')
  range(s.minItems, s.maxItems, 'items')
  if (s.pattern !== undefined) out.push(`matches \`${s.pattern}\``)
  if (s.format !== undefined) out.push(`format ${s.format}`)
  return out
}

/** A schema without its description and default: those belong to the field that holds it. */
function bare(s: JsonSchema): JsonSchema {
  const { description: _description, default: _default, ...rest } = s
  return rest
}

/** One row per field, depth first; the fields of each alternative of a union are listed under it. */
function rows(s: JsonSchema, path: string, required: boolean | string, out: Row[], generated?: string): void {
  if (path !== '') {
    const extra = constraints(s)
    const description = s.description ?? generated
    out.push({
      described: description !== undefined,
      field: `\`${path}\``,
      type: typeOf(s),
      required: s.default !== undefined ? `default ${literal(s.default)}` : typeof required === 'string' ? required : required ? 'required' : 'optional',
      description: [description, extra.length === 0 ? undefined : `(${extra.join(', ')})`].filter((x) => x !== undefined).join(' '),
    })
  }
  if (s.properties !== undefined) {
    const needed = new Set(s.required ?? [])
    for (const [key, child] of Object.entries(s.properties)) rows(child, path === '' ? key : `${path}.${key}`, needed.has(key), out)
  }
  // An entry of an array of objects: its fields follow; the array's own row says what it holds.
  if (s.items?.properties !== undefined) rows(bare(s.items), `${path}[]`, true, out, s.items.description ?? `one entry of \`${path}\`; its fields follow`)
  for (const alternative of s.oneOf ?? s.anyOf ?? []) {
    if (alternative.properties === undefined) continue
    const tag = Object.entries(alternative.properties).find(([, p]) => p.const !== undefined)
    const where = tag === undefined ? path : `${path}{${tag[0]}=${String(tag[1].const)}}`
    if (tag !== undefined) {
      const [key, value] = [tag[0], JSON.stringify(tag[1].const)]
      const properties = { ...alternative.properties, [key]: { ...tag[1], description: tag[1].description ?? `${value} selects this form` } }
      rows({ ...bare(alternative), properties }, where, true, out, alternative.description ?? `the form with \`"${key}": ${value}\`; its fields follow`)
      continue
    }
    // Without a tag, the alternatives are exclusive shapes (a password from `env` or from `file`): exactly one is given.
    const choices = (s.oneOf ?? s.anyOf ?? []).flatMap((a) => Object.keys(a.properties ?? {}))
    for (const [key, child] of Object.entries(alternative.properties)) rows(child, `${path}.${key}`, `one of ${choices.map((c) => `\`${c}\``).join(', ')}`, out)
  }
}

function tableRows(schema: z.ZodType): Row[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema
  const out: Row[] = []
  rows(json, '', true, out)
  const seen = new Set<string>()
  return out.filter((r) => {
    const key = `${r.field}|${r.type}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function table(schema: z.ZodType): string {
  const unique = tableRows(schema)
  return ['| field | type | required / default | description |', '|---|---|---|---|', ...unique.map((r) => `| ${cell(r.field)} | ${cell(r.type)} | ${cell(r.required)} | ${cell(r.description)} |`)].join('\n')
}

const FILES: readonly { title: string; about: string; schema: z.ZodType; name: string }[] = [
  {
    title: '`fleet.json` — the fleet file',
    name: 'fleet',
    about: 'Written by `cw fleet init`; read by gateways, agents (inside their bundle), `cw rewards claim` and `cw audit`. It holds no secret. Schema: `protocols/config/fleet-file.ts`.',
    schema: fleetFileSchema,
  },
  {
    title: '`device.json` — the device bundle',
    name: 'device',
    about: 'Written by `cw device enroll`; read by `cw agent start`. It holds no secret: the device key stays in its key store. Schema: `hardware/bundle/device-bundle.ts`; its `agent` section is described below.',
    schema: deviceBundleSchema,
  },
  {
    title: 'The `agent` section of `device.json`',
    name: 'agent',
    about: "The agent daemon's own settings, every one optional. Relative paths are taken from the directory of `device.json`. Schema: `edge-agent/daemon/config.ts`.",
    schema: agentConfigSchema,
  },
  {
    title: '`gateway.json` — the gateway daemon',
    name: 'gateway',
    about: 'Read by `cw gateway start`. Relative paths are taken from the directory of `gateway.json`. Schema: `gateway/daemon/config.ts`.',
    schema: gatewayConfigSchema,
  },
  {
    title: 'Key-store configuration',
    name: 'key-store',
    about: 'Where a key lives: `file` (Web3 Secret Storage v3 files, the password from a file or an environment variable) or `pkcs11` (a token such as a secure element; the PIN from a file or an environment variable). Secrets are never written in a configuration file or given as a command-line argument. Schema: `hardware/keys/key-store-config.ts`.',
    schema: keyStoreConfigSchema,
  },
  ...(
    [
      ['replay', replayConfigSchema, 'plays a CSV recording (optionally gzipped) at a speed, for tests, demos and replays of field data'],
      ['synthetic', syntheticConfigSchema, 'generates seeded signals, for trying a fleet without hardware'],
      ['serial-line', serialLineConfigSchema, 'reads text lines (CSV or key=value, optionally NMEA-style checksummed) from a serial port'],
      ['firmata', firmataConfigSchema, 'reads analog and digital pins of a Firmata board through johnny-five'],
    ] as const
  ).map(([driver, schema, about]) => ({
    title: `Sensor \`${driver}\` (an entry of \`sensors\` in \`device.json\`)`,
    name: `sensor-${driver}`,
    about: `The \`${driver}\` driver ${about}. Validated when the agent starts, before anything opens; an error names the file, the sensor and the field (\`device.json: sensors[1] (uart): format.channels: …\`). Schema: \`hardware/sensors/${driver === 'serial-line' ? 'serial-line' : driver}-sensor.ts\`.`,
    schema: schema as z.ZodType,
  })),
]

/** JSON Schema files for editors (docs/schemas/<name>.schema.json), from the same schemas as the tables. */
export function jsonSchemas(): { name: string; text: string }[] {
  return FILES.map((f) => ({
    name: `${f.name}.schema.json`,
    text: `${JSON.stringify({ $id: `https://counterweight.invalid/schemas/${f.name}.schema.json`, title: f.title.replace(/`/g, ''), ...z.toJSONSchema(f.schema, { io: 'input', unrepresentable: 'any' }) }, null, 2)}\n`,
  }))
}

/** Fields of the configuration reference whose schema gives no description, as `<file>: <field>`. */
export function undescribedFields(): string[] {
  return FILES.flatMap((f) => tableRows(f.schema).filter((r) => !r.described).map((r) => `${f.name}: ${r.field}`))
}

export function configurationReference(): string {
  const parts = [
    '# Configuration reference',
    '',
    'Generated from the zod schemas that validate each file (`npm run docs`; `test/docs/reference.test.ts` fails when this page is out of date); the same schemas are in `docs/schemas/*.schema.json` (JSON Schema 2020-12) for editors (map each file to its schema, e.g. with the `json.schemas` setting of VS Code; the files themselves take no `$schema` key, since unknown keys are refused). Every file is JSON, validated once when it is read; an error names the file and the field (`error CW_CONFIG: gateway.json: rounds.config.quorum: …`).',
  ]
  for (const f of FILES) parts.push('', `## ${f.title}`, '', f.about, '', table(f.schema))
  return `${parts.join('\n')}\n`
}

function optionRow(o: Option): string {
  const fallback = o.defaultValue === undefined ? '' : ` (default: ${Array.isArray(o.defaultValue) ? o.defaultValue.join(' ') || 'none' : String(o.defaultValue)})`
  return `| \`${cell(o.flags)}\` | ${cell(`${o.description}${fallback}`)} |`
}

function commandSection(command: Command, prefix: string, out: string[]): void {
  const name = `${prefix} ${command.name()}`.trim()
  const subs = command.commands.filter((c) => c.name() !== 'help')
  const args = command.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`))
  const options = command.options.filter((o) => o.long !== '--help' && o.long !== '--version')
  if (prefix !== '' && (subs.length === 0 || options.length > 0 || args.length > 0)) {
    out.push('', `### \`${[name, ...args, ...(options.length > 0 ? ['[options]'] : [])].join(' ')}\``, '', command.description())
    if (options.length > 0) out.push('', '| option | meaning |', '|---|---|', ...options.map(optionRow))
  } else if (prefix !== '') out.push('', `## \`${name}\``, '', command.description())
  for (const sub of subs) commandSection(sub, name, out)
}

export function cliReference(program: Command): string {
  const out = [
    '# `cw` command reference',
    '',
    'Generated from the program itself (`npm run docs`; `test/docs/reference.test.ts` fails when this page is out of date). Every command takes `--help`. Exit codes: 0 success; 1 refused (a typed error: the input or a configuration file is invalid, a signature or an audit does not match, the chain or a daemon refused the request); 2 bad arguments; 3 a file could not be read or written; 4 a bulk run did some items and refused others (each reported). Errors print as `error CODE: message` on standard error; [errors.md](errors.md) lists every code.',
  ]
  commandSection(program, '', out)
  return `${out.join('\n')}\n`
}
