// Opens the key store a configuration names: `{ kind: 'file', … }` or `{ kind: 'pkcs11', … }`.
import { openFileKeyStore } from './file/file-key-store.js'
import type { KeyStore } from './key-store.js'
import { keyStoreConfigSchema, parseKeyStoreConfig, type OpenKeyStoreOptions } from './key-store-config.js'
import { openPkcs11KeyStore } from './pkcs11/pkcs11-key-store.js'

export type OpenKeyStoreReturnType = KeyStore

export async function openKeyStore(config: unknown, options: OpenKeyStoreOptions = {}): Promise<OpenKeyStoreReturnType> {
  const parsed = parseKeyStoreConfig(keyStoreConfigSchema, config)
  return parsed.kind === 'file' ? openFileKeyStore(parsed, options) : openPkcs11KeyStore(parsed, options)
}
