// The `file` key store: one Web3 Secret Storage v3 file per key, `<directory>/<label>.json`,
// written 0600 and atomically. The software fallback for boards without a secure element: the
// key is encrypted at rest, and held in memory only while a signer is open.
import { mkdir, open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import * as secp from '@noble/secp256k1'
import { pino, type Logger } from 'pino'
import { bytesToHex, getAddress, type Address, type Hex } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { createMemorySigner } from '../../../protocols/crypto/memory-signer.js'
import {
  KEY_CURVES,
  KEY_DIRECTORY_MODE,
  KEY_FILE_MAX_BYTES,
  KEY_FILE_MODE,
  KEY_FILE_SUFFIX,
  KEY_LABEL_MAX_LENGTH,
  KEY_LABEL_PATTERN,
} from '../../constants.js'
import { KeyExistsError, KeyFormatError, KeyNotFoundError, KeyStoreIoError } from '../../errors.js'
import {
  AbstractKeyStore,
  type BackendKey,
  type GeneratedKey,
  type KeyInfo,
  type KeyStoreSupports,
} from '../key-store.js'
import { fileKeyStoreConfigSchema, parseKeyStoreConfig, type OpenKeyStoreOptions } from '../key-store-config.js'
import { readSecret } from '../secret-source.js'
import { writeFileAtomic } from './atomic-write.js'
import { decryptKeystoreV3, encryptKeystoreV3, type ScryptParameters } from './keystore-v3.js'

const STORE = 'file'

const errnoOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code

interface FileKeyStoreInit {
  directory: string
  password: string
  scrypt: ScryptParameters | undefined
  logger: Logger
}

export class FileKeyStore extends AbstractKeyStore {
  readonly kind = STORE
  readonly supports: KeyStoreSupports = { extractable: true, hardware: false, persistent: true, curves: KEY_CURVES }
  readonly directory: string
  readonly #password: string
  readonly #scrypt: ScryptParameters | undefined
  readonly #logger: Logger
  // Public keys are not secret; caching them spares a scrypt run per `publicKey` call.
  readonly #publicKeys = new Map<string, Hex>()

  constructor(init: FileKeyStoreInit) {
    super()
    this.directory = init.directory
    this.#password = init.password
    this.#scrypt = init.scrypt
    this.#logger = init.logger
  }

  #path(label: string): string {
    return join(this.directory, `${label}${KEY_FILE_SUFFIX}`)
  }

  /** The parsed JSON of a key file; KeyNotFoundError when absent, KeyFormatError when not JSON or too large. */
  async #readJson(label: string): Promise<unknown> {
    const path = this.#path(label)
    let handle
    try {
      handle = await open(path, 'r')
    } catch (cause) {
      if (errnoOf(cause) === 'ENOENT') throw new KeyNotFoundError(STORE, label)
      throw new KeyStoreIoError(path, 'open', { cause })
    }
    let text: string
    try {
      const info = await handle.stat()
      if (!info.isFile()) throw new KeyFormatError('file', 'not a regular file', { details: { label } })
      if (info.size > KEY_FILE_MAX_BYTES)
        throw new KeyFormatError('file', `larger than ${KEY_FILE_MAX_BYTES} bytes`, { details: { label } })
      if ((info.mode & 0o077) !== 0)
        this.#logger.warn({ label, mode: (info.mode & 0o777).toString(8) }, 'key file is readable by group or others')
      const buffer = Buffer.alloc(KEY_FILE_MAX_BYTES + 1)
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
      if (bytesRead > KEY_FILE_MAX_BYTES)
        throw new KeyFormatError('file', `larger than ${KEY_FILE_MAX_BYTES} bytes`, { details: { label } })
      text = buffer.subarray(0, bytesRead).toString('utf8')
    } finally {
      await handle.close()
    }
    try {
      return JSON.parse(text) as unknown
    } catch (cause) {
      throw new KeyFormatError('file', 'not JSON', { cause, details: { label } })
    }
  }

  async #decrypt(label: string, signal: AbortSignal): Promise<Uint8Array> {
    const json = await this.#readJson(label)
    signal.throwIfAborted()
    try {
      const { privateKey } = await decryptKeystoreV3(json, this.#password, { signal })
      return privateKey
    } catch (error) {
      this.#logger.warn({ label, code: (error as { code?: unknown }).code }, 'key file does not open')
      throw error
    }
  }

  protected async _generate(label: string, signal: AbortSignal): Promise<GeneratedKey> {
    const path = this.#path(label)
    const exists = await stat(path).then(
      () => true,
      (cause: unknown) => {
        if (errnoOf(cause) === 'ENOENT') return false
        throw new KeyStoreIoError(path, 'stat', { cause })
      },
    )
    if (exists) throw new KeyExistsError(STORE, label)
    const privateKey = secp.utils.randomSecretKey()
    try {
      const json = await encryptKeystoreV3({
        privateKey,
        password: this.#password,
        ...(this.#scrypt === undefined ? {} : { scrypt: this.#scrypt }),
      })
      signal.throwIfAborted()
      try {
        await writeFileAtomic({ path, data: `${JSON.stringify(json, null, 2)}\n`, mode: KEY_FILE_MODE, exclusive: true })
      } catch (cause) {
        // Two generate() calls for one label race; link(2) lets exactly one of them win.
        if (errnoOf(cause) === 'EEXIST') throw new KeyExistsError(STORE, label)
        throw new KeyStoreIoError(path, 'write', { cause })
      }
      const publicKey = bytesToHex(secp.getPublicKey(privateKey, false))
      const address = publicKeyToAddress(publicKey)
      this.#publicKeys.set(label, publicKey)
      this.#logger.info({ label, address }, 'generated key')
      return { label, address, publicKey }
    } finally {
      privateKey.fill(0)
    }
  }

  protected async _list(signal: AbortSignal): Promise<KeyInfo[]> {
    let names: string[]
    try {
      names = await readdir(this.directory)
    } catch (cause) {
      throw new KeyStoreIoError(this.directory, 'list', { cause })
    }
    const keys: KeyInfo[] = []
    for (const name of names) {
      if (!name.endsWith(KEY_FILE_SUFFIX)) continue
      const label = name.slice(0, -KEY_FILE_SUFFIX.length)
      // Temporary files start with a dot and fail the pattern; so does anything else not ours.
      if (label.length === 0 || label.length > KEY_LABEL_MAX_LENGTH || !KEY_LABEL_PATTERN.test(label)) continue
      signal.throwIfAborted()
      keys.push({ label, ...(await this.#recordedAddress(label)) })
    }
    return keys
  }

  /** The address a key file records (unverified until it is decrypted); none when it has none. */
  async #recordedAddress(label: string, options: { strict?: boolean } = {}): Promise<{ address?: Address }> {
    try {
      const json = await this.#readJson(label)
      const address = (json as { address?: unknown } | null)?.address
      if (typeof address !== 'string' || !/^(0x)?[0-9a-fA-F]{40}$/.test(address)) return {}
      return { address: getAddress(`0x${address.replace(/^0x/, '')}`) }
    } catch (error) {
      if (options.strict === true) throw error
      // One unreadable file must not hide the others from a listing; open() reports it properly.
      this.#logger.warn({ label, code: (error as { code?: unknown }).code }, 'key file not readable while listing')
      return {}
    }
  }

  protected async _publicKey(label: string, signal: AbortSignal): Promise<Hex> {
    const cached = this.#publicKeys.get(label)
    if (cached !== undefined) {
      // The file may have been removed or replaced since: serve the cached key only while the
      // file still records the same address.
      const { address } = await this.#recordedAddress(label, { strict: true })
      if (address === publicKeyToAddress(cached)) return cached
      this.#publicKeys.delete(label)
    }
    const privateKey = await this.#decrypt(label, signal)
    try {
      const publicKey = bytesToHex(secp.getPublicKey(privateKey, false))
      this.#publicKeys.set(label, publicKey)
      return publicKey
    } finally {
      privateKey.fill(0)
    }
  }

  protected async _open(label: string, signal: AbortSignal): Promise<BackendKey> {
    const privateKey = await this.#decrypt(label, signal)
    let signer
    try {
      // The memory signer signs with @noble/secp256k1 and re-verifies each signature it makes.
      signer = createMemorySigner({ privateKey: bytesToHex(privateKey) })
    } finally {
      privateKey.fill(0)
    }
    this.#publicKeys.set(label, signer.publicKey)
    return {
      address: signer.address,
      publicKey: signer.publicKey,
      sign: (digest, signSignal) => signer.signDigest(digest, { signal: signSignal }),
    }
  }

  protected async _close(): Promise<void> {
    this.#publicKeys.clear()
  }
}

/**
 * Opens (creating when missing, mode 0700) the key directory named by `config` and reads the
 * password from its configured source. The password is read once, here.
 */
export async function openFileKeyStore(config: unknown, options: OpenKeyStoreOptions = {}): Promise<FileKeyStore> {
  const parsed = parseKeyStoreConfig(fileKeyStoreConfigSchema, config)
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'hardware:keys:file' })
  options.signal?.throwIfAborted()
  const password = await readSecret({
    source: parsed.password,
    secret: 'password',
    logger,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  })
  try {
    await mkdir(parsed.directory, { recursive: true, mode: KEY_DIRECTORY_MODE })
    const info = await stat(parsed.directory)
    if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' })
    if ((info.mode & 0o077) !== 0)
      logger.warn({ directory: parsed.directory, mode: (info.mode & 0o777).toString(8) }, 'key directory is accessible by group or others')
  } catch (cause) {
    throw new KeyStoreIoError(parsed.directory, 'create directory', { cause })
  }
  return new FileKeyStore({ directory: parsed.directory, password, scrypt: parsed.scrypt, logger })
}
