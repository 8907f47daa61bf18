// The configuration of a key store, as it appears in a device's JSON configuration under
// `keyStore`. Validated once, here, with errors that name the field.
import type { Logger } from 'pino'
import { z } from 'zod'
import { InvalidArgumentError } from '../../protocols/errors.js'
import { SCRYPT_MAX_N, SCRYPT_MAX_P, SCRYPT_MAX_R } from '../constants.js'
import { secretSourceSchema } from './secret-source.js'

/** PKCS#11 v2.40 §3.2 CK_TOKEN_INFO: a token label is 32 bytes, blank-padded. */
const TOKEN_LABEL_MAX_LENGTH = 32

export const fileKeyStoreConfigSchema = z.strictObject({
  kind: z.literal('file'),
  /** Directory of `<label>.json` key files; created 0700 when missing. */
  directory: z.string().min(1, 'expected a directory path').describe('directory of `<label>.json` key files (Web3 Secret Storage v3), created 0700 when missing'),
  password: secretSourceSchema.describe('where the password of the key files comes from: an environment variable or a file, never the configuration itself'),
  /** scrypt cost of the files this store writes; SCRYPT_DEFAULTS when absent. */
  scrypt: z
    .strictObject({
      n: z
        .number()
        .int()
        .min(2)
        .max(SCRYPT_MAX_N)
        .refine((n) => (n & (n - 1)) === 0, 'expected a power of two')
        .describe('scrypt CPU/memory cost, a power of two'),
      r: z.number().int().min(1).max(SCRYPT_MAX_R).describe('scrypt block size'),
      p: z.number().int().min(1).max(SCRYPT_MAX_P).describe('scrypt parallelisation'),
    })
    .optional()
    .describe('scrypt cost of the key files this store writes (the library default when absent; lower it only for tests and demos)'),
})

export const pkcs11KeyStoreConfigSchema = z.strictObject({
  kind: z.literal('pkcs11'),
  /** Path of the PKCS#11 shared library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: z.string().min(1, 'expected the path of a PKCS#11 module').describe('path of the PKCS#11 shared library, e.g. /usr/lib/softhsm/libsofthsm2.so'),
  /** The token: by its label (CK_TOKEN_INFO.label) or by the module's slot id. */
  token: z
    .union([
      z.strictObject({ label: z.string().min(1).max(TOKEN_LABEL_MAX_LENGTH).describe("the token's label (CK_TOKEN_INFO.label)") }),
      z.strictObject({ slot: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe("the module's slot id") }),
    ])
    .describe('the token that holds the keys, by its label or by its slot id'),
  pin: secretSourceSchema.describe("where the token's user PIN comes from: an environment variable or a file"),
})

export const keyStoreConfigSchema = z.discriminatedUnion('kind', [fileKeyStoreConfigSchema, pkcs11KeyStoreConfigSchema])

export type FileKeyStoreConfig = z.infer<typeof fileKeyStoreConfigSchema>
export type Pkcs11KeyStoreConfig = z.infer<typeof pkcs11KeyStoreConfigSchema>
export type KeyStoreConfig = z.infer<typeof keyStoreConfigSchema>

/** What every backend's opener takes besides its configuration. */
export interface OpenKeyStoreOptions {
  /** Parent logger; the store logs through a child named after its component. */
  logger?: Logger
  /** The environment that `{ env: NAME }` secret sources read; process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal
}

/** Validates `input` against `schema`; InvalidArgumentError with `field` = `keyStore.<path>`. */
export function parseKeyStoreConfig<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = ['keyStore', ...(issue?.path ?? []).map(String)].join('.')
  throw new InvalidArgumentError(field, issue?.message ?? 'invalid')
}

/** The configuration with each of its paths (key directory, password or PIN file, module path) passed through `map`; a bare module name is left to the dynamic linker. */
export function mapKeyStorePaths(config: KeyStoreConfig, map: (path: string) => string): KeyStoreConfig {
  const secret = <S extends { env: string } | { file: string }>(s: S): S => ('file' in s ? { ...s, file: map(s.file) } : { ...s })
  if (config.kind === 'file') return { ...config, directory: map(config.directory), password: secret(config.password) }
  return { ...config, module: config.module.includes('/') ? map(config.module) : config.module, pin: secret(config.pin) }
}
