// Opening the key stores provisioning works with: the fleet owner's (to sign certificates and
// send the owner's transactions) and a device's (to generate its key and sign its request). A
// key store that is not there, in any of the ways it can be missing, is one typed error
// (KeyStoreMissingError) raised before anything is written.
import { stat } from 'node:fs/promises'
import { dirname, isAbsolute, relative, resolve } from 'node:path'
import type { Logger } from 'pino'
import type { LocalAccount } from 'viem'
import { parseConfig } from '../protocols/index.js'
import {
  KeyNotFoundError,
  keyStoreConfigSchema,
  mapKeyStorePaths,
  openKeyStore,
  Pkcs11LoadError,
  readJsonConfig,
  signerToAccount,
  TokenNotFoundError,
  type KeySigner,
  type KeyStore,
  type KeyStoreConfig,
} from '../hardware/index.js'
import { KeyStoreMissingError } from './errors.js'

/** Makes the paths of a key-store configuration absolute, relative to `base` (the directory of the file it came from). */
export function resolveKeyStorePaths(config: KeyStoreConfig, base: string): KeyStoreConfig {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p))
  if (config.kind === 'file') {
    return { ...config, directory: at(config.directory), password: 'file' in config.password ? { file: at(config.password.file) } : { ...config.password } }
  }
  // A bare module name (`libsofthsm2.so`) is looked up by the dynamic linker; a path is resolved.
  const module = config.module.includes('/') ? at(config.module) : config.module
  return { ...config, module, pin: 'file' in config.pin ? { file: at(config.pin.file) } : { ...config.pin } }
}

/**
 * The paths of a key-store configuration (and the transport key directory) as a bundle at `bundleDir`
 * writes them: an absolute path inside the bundle's directory becomes relative to it, so that the
 * directory can be moved or copied whole; one outside stays absolute, since a relative path there
 * would break the day the bundle is copied to the board.
 */
export function relativeToBundle(path: string, bundleDir: string): string {
  if (!isAbsolute(path)) return path
  const rel = relative(bundleDir, path)
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel
}

export function bundleKeyStorePaths(config: KeyStoreConfig, bundleDir: string): KeyStoreConfig {
  return mapKeyStorePaths(config, (p) => relativeToBundle(p, bundleDir))
}

/** Reads a key-store configuration file (JSON); paths in it are relative to its directory. */
export async function readKeyStoreConfig(file: string): Promise<KeyStoreConfig> {
  const info = await stat(file).catch(() => undefined)
  if (info === undefined) throw new KeyStoreMissingError(file, 'the configuration file does not exist')
  return readJsonConfig(file, (value, f) => resolveKeyStorePaths(parseConfig(f, keyStoreConfigSchema, value) as KeyStoreConfig, dirname(resolve(f))))
}

export interface OpenExistingKeyStoreParameters {
  config: KeyStoreConfig
  env?: Readonly<Record<string, string | undefined>>
  logger?: Logger
  signal?: AbortSignal
  /** A file store's directory may be created (a device generating its first key). */
  create?: boolean
}

/** Opens a key store, turning every way of its not being there into KeyStoreMissingError. */
export async function openExistingKeyStore(parameters: OpenExistingKeyStoreParameters): Promise<KeyStore> {
  const { config, create = false } = parameters
  if (config.kind === 'file' && !create) {
    const info = await stat(config.directory).catch(() => undefined)
    if (info === undefined || !info.isDirectory()) throw new KeyStoreMissingError(config.directory, 'the key directory does not exist')
  }
  try {
    return await openKeyStore(config, {
      ...(parameters.env === undefined ? {} : { env: parameters.env }),
      ...(parameters.logger === undefined ? {} : { logger: parameters.logger }),
      ...(parameters.signal === undefined ? {} : { signal: parameters.signal }),
    })
  } catch (err) {
    if (err instanceof Pkcs11LoadError) throw new KeyStoreMissingError(config.kind === 'pkcs11' ? config.module : 'module', 'the PKCS#11 module cannot be loaded', { cause: err })
    if (err instanceof TokenNotFoundError) throw new KeyStoreMissingError('token', err.message, { cause: err })
    throw err
  }
}

/** The fleet owner's key, as a Signer (certificates) and a viem account (transactions). */
export interface OwnerKey {
  readonly signer: KeySigner
  readonly account: LocalAccount
  readonly store: KeyStore
  close(): Promise<void>
}

export interface OpenOwnerKeyParameters extends Omit<OpenExistingKeyStoreParameters, 'create'> {
  label: string
  /** Generate the key when the store has none under `label` (fleet init). */
  generate?: boolean
}

export async function openOwnerKey(parameters: OpenOwnerKeyParameters): Promise<OwnerKey> {
  const { label, generate = false, signal } = parameters
  const store = await openExistingKeyStore({ ...parameters, create: generate })
  try {
    const options = signal === undefined ? {} : { signal }
    let signer: KeySigner
    try {
      signer = await store.open(label, options)
    } catch (err) {
      if (!(err instanceof KeyNotFoundError) || !generate) throw err
      await store.generate(label, options)
      signer = await store.open(label, options)
    }
    // The account signs later transactions too: no operation-scoped signal for it.
    const account = signerToAccount({ signer })
    return { signer, account, store, close: () => store.close() }
  } catch (err) {
    await store.close()
    throw err
  }
}
