// Where a key store's password or PIN comes from: an environment variable or a file, both named
// in the configuration. Never a command-line argument, which any user can read in the process
// list. The secret itself is never logged and never put into an error.
import { open } from 'node:fs/promises'
import type { Logger } from 'pino'
import { z } from 'zod'
import { SECRET_FILE_MAX_BYTES } from '../constants.js'
import { SecretUnavailableError } from '../errors.js'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export const secretSourceSchema = z.union([
  z.strictObject({ env: z.string().regex(ENV_NAME, 'expected an environment variable name').describe('the environment variable that holds the secret') }),
  z.strictObject({ file: z.string().min(1, 'expected a file path').describe('a file that holds the secret (keep it 0600); trailing newlines are ignored') }),
])

export type SecretSource = z.infer<typeof secretSourceSchema>

export interface ReadSecretParameters {
  source: SecretSource
  /** What the secret is for, in messages: `password`, `PIN`. */
  secret: string
  /** The environment to read `env` sources from; process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>
  logger?: Logger
  signal?: AbortSignal
}

export type ReadSecretReturnType = string

/** A file's trailing line break is not part of the secret: `echo pin > file` is how people write it. */
const stripLineBreak = (text: string): string => text.replace(/\r?\n$/, '')

export async function readSecret(parameters: ReadSecretParameters): Promise<ReadSecretReturnType> {
  const { source, secret, env = process.env, signal } = parameters
  signal?.throwIfAborted()
  if ('env' in source) {
    const value = env[source.env]
    if (value === undefined) throw new SecretUnavailableError(secret, 'env', source.env, 'not set')
    if (value === '') throw new SecretUnavailableError(secret, 'env', source.env, 'empty')
    return value
  }
  let handle
  try {
    handle = await open(source.file, 'r')
  } catch (cause) {
    throw new SecretUnavailableError(secret, 'file', source.file, 'cannot be opened', { cause })
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new SecretUnavailableError(secret, 'file', source.file, 'not a regular file')
    if (stat.size > SECRET_FILE_MAX_BYTES)
      throw new SecretUnavailableError(secret, 'file', source.file, `larger than ${SECRET_FILE_MAX_BYTES} bytes`)
    // Like ssh with its keys: warn, do not refuse, so that a fleet does not go dark over a chmod.
    if ((stat.mode & 0o077) !== 0)
      parameters.logger?.warn({ file: source.file, mode: (stat.mode & 0o777).toString(8) }, `${secret} file is readable by group or others`)
    const buffer = Buffer.alloc(SECRET_FILE_MAX_BYTES + 1)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    if (bytesRead > SECRET_FILE_MAX_BYTES)
      throw new SecretUnavailableError(secret, 'file', source.file, `larger than ${SECRET_FILE_MAX_BYTES} bytes`)
    const value = stripLineBreak(buffer.subarray(0, bytesRead).toString('utf8'))
    buffer.fill(0)
    if (value === '') throw new SecretUnavailableError(secret, 'file', source.file, 'empty')
    return value
  } finally {
    await handle.close()
  }
}
