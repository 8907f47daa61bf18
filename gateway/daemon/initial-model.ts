// The model a gateway starts its fleet with (gateway.json `model.initial`): a file, checked to be a
// model, or a seeded MLP built here.
import { readFile } from 'node:fs/promises'
import { BaseError, buildMlp, ConfigError, decodeModel, encodeModel, MAX_MODEL_BYTES } from '../../protocols/index.js'
import type { GatewayConfig } from './config.js'

const errorText = (err: unknown): string => (err instanceof BaseError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err))

/** The initial model's bytes; ConfigError naming `model.initial.file` when the file is not a model. */
export async function loadInitialModel(config: Pick<GatewayConfig, 'file' | 'model'>): Promise<Uint8Array> {
  const initial = config.model.initial
  if (initial.mlp !== undefined) {
    const { inputs, hidden, outputs, seed } = initial.mlp
    return encodeModel(buildMlp({ inputs, hidden, classes: outputs, seed }))
  }
  const file = initial.file as string
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (err) {
    throw new ConfigError(config.file, 'model.initial.file', `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err })
  }
  if (bytes.length > MAX_MODEL_BYTES) throw new ConfigError(config.file, 'model.initial.file', `${file} is larger than ${MAX_MODEL_BYTES} bytes`)
  try {
    decodeModel(bytes)
  } catch (err) {
    throw new ConfigError(config.file, 'model.initial.file', `${file} is not a model: ${errorText(err)}`, { cause: err })
  }
  return bytes
}
