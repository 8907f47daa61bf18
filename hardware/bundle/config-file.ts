// Reading and writing JSON configuration files: missing files, bad JSON and schema failures are
// ConfigErrors naming the file and the field; writes are atomic (readers see the old file or the
// whole new one) and never hold a secret, so they are written 0644.
import { readFile } from 'node:fs/promises'
import { ConfigError } from '../../protocols/errors.js'
import { parseJsonText } from '../../protocols/config/parse-config.js'
import { writeFileAtomic } from '../keys/file/atomic-write.js'

/** The largest configuration file read: far above any real one. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024

export async function readJsonConfig<T>(file: string, parse: (value: unknown, file: string) => T): Promise<T> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ConfigError(file, '', code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`, { cause: err })
  }
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigError(file, '', `is larger than ${MAX_CONFIG_BYTES} bytes`)
  return parse(parseJsonText(file, text), file)
}

/** Writes `value` as pretty JSON, atomically. */
export async function writeJsonConfig(file: string, value: unknown, mode = 0o644): Promise<void> {
  await writeFileAtomic({ path: file, data: `${JSON.stringify(value, null, 2)}\n`, mode })
}
