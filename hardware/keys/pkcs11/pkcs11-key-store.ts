// The `pkcs11` key store: keys generated inside a PKCS#11 token (a secure element, an HSM, or
// SoftHSM2 in tests) on secp256k1, marked sensitive and non-extractable, so that the private key
// never leaves the token. Signing is CKM_ECDSA over the 32-byte digest; the token's r || s is
// normalised to low-S and given its recovery id (ec.ts). One session per store, logged in once,
// and every call on it goes through a queue, since a session runs one operation at a time.
import { endianness } from 'node:os'
import { randomBytes } from 'node:crypto'
import { pino, type Logger } from 'pino'
import { hexToBytes, type Address, type Hex } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { InvalidArgumentError } from '../../../protocols/errors.js'
import { KEY_CURVES, KEY_LABEL_MAX_LENGTH, KEY_LABEL_PATTERN, PKCS11_ECDSA_SIGNATURE_BYTES, SECP256K1_EC_PARAMS_HEX } from '../../constants.js'
import { KeyExistsError, KeyNotFoundError, KeyStoreClosedError, TokenNotFoundError } from '../../errors.js'
import { AbstractKeyStore, type BackendKey, type GeneratedKey, type KeyInfo, type KeyStoreSupports } from '../key-store.js'
import { parseKeyStoreConfig, pkcs11KeyStoreConfigSchema, type OpenKeyStoreOptions, type Pkcs11KeyStoreConfig } from '../key-store-config.js'
import { readSecret } from '../secret-source.js'
import { SerialQueue } from '../../serial-queue.js'
import { decodeEcPoint, toRecoverableSignature } from './ec.js'
import { acquirePkcs11Module, type Pkcs11Module } from './module.js'
import { returnCodeOf, toPkcs11Error } from './return-codes.js'

const STORE = 'pkcs11'
/** Objects fetched per C_FindObjects call while listing. */
const FIND_BATCH = 64
/** Room for a DER-encoded signature from tokens that return one instead of r || s. */
const SIGNATURE_BUFFER_BYTES = 2 * PKCS11_ECDSA_SIGNATURE_BYTES
const CKA_ID_BYTES = 16
const EC_PARAMS = Buffer.from(SECP256K1_EC_PARAMS_HEX, 'hex')

type Handle = Buffer

interface ResolvedKey {
  privateKey: Handle
  publicKey: Hex
  address: Address
}

const describeToken = (token: Pkcs11KeyStoreConfig['token']): string =>
  'label' in token ? `labelled ${JSON.stringify(token.label)}` : `in slot ${token.slot}`

interface Pkcs11KeyStoreInit {
  module: Pkcs11Module
  session: Handle
  token: string
  logger: Logger
}

export class Pkcs11KeyStore extends AbstractKeyStore {
  readonly kind = STORE
  readonly supports: KeyStoreSupports = { extractable: false, hardware: true, persistent: true, curves: KEY_CURVES }
  readonly #module: Pkcs11Module
  readonly #session: Handle
  readonly #token: string
  readonly #logger: Logger
  readonly #queue = new SerialQueue()
  // Object handles are valid for the session's lifetime (PKCS#11 v2.40 §2.4), which is the store's.
  readonly #keys = new Map<string, ResolvedKey>()
  #sessionOpen = true

  constructor(init: Pkcs11KeyStoreInit) {
    super()
    this.#module = init.module
    this.#session = init.session
    this.#token = init.token
    this.#logger = init.logger
  }

  /** Runs `f` as PKCS#11 call `method`, turning a module error into a typed one. */
  #call<T>(method: string, f: () => T): T {
    try {
      return f()
    } catch (error) {
      throw toPkcs11Error(error, method, this.#token)
    }
  }

  async #callAsync<T>(method: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f()
    } catch (error) {
      throw toPkcs11Error(error, method, this.#token)
    }
  }

  /** Queues a task on the session; refuses once the session is closed. */
  #run<T>(task: () => T | Promise<T>, signal: AbortSignal): Promise<T> {
    return this.#queue.run(() => {
      // A task queued before close() ran must not touch a finalised module.
      if (!this.#sessionOpen) throw new KeyStoreClosedError(STORE)
      return task()
    }, signal)
  }

  #find(template: { type: number; value: number | boolean | string | Buffer }[], max: number): Handle[] {
    const { pkcs11 } = this.#module
    this.#call('C_FindObjectsInit', () => pkcs11.C_FindObjectsInit(this.#session, template))
    try {
      const found: Handle[] = []
      for (;;) {
        const batch = this.#call('C_FindObjects', () => pkcs11.C_FindObjects(this.#session, Math.min(FIND_BATCH, max - found.length)))
        found.push(...batch)
        if (batch.length === 0 || found.length >= max) return found
      }
    } finally {
      this.#call('C_FindObjectsFinal', () => pkcs11.C_FindObjectsFinal(this.#session))
    }
  }

  #attribute(handle: Handle, type: number, method = 'C_GetAttributeValue'): Buffer {
    const [attribute] = this.#call(method, () => this.#module.pkcs11.C_GetAttributeValue(this.#session, handle, [{ type }]))
    if (attribute === undefined || !Buffer.isBuffer(attribute.value)) throw toPkcs11Error(new Error('no attribute value'), method, this.#token)
    return attribute.value
  }

  #findKey(objectClass: number, label: string): Handle | undefined {
    const { api } = this.#module
    const handles = this.#find(
      [
        { type: api.CKA_CLASS, value: objectClass },
        { type: api.CKA_KEY_TYPE, value: api.CKK_EC },
        { type: api.CKA_LABEL, value: label },
      ],
      2,
    )
    // Two keys under one label would make the device's identity ambiguous; refuse to guess.
    if (handles.length > 1)
      throw new InvalidArgumentError('label', `names more than one key in the token ${this.#token}`, { details: { label } })
    return handles[0]
  }

  /** The EC point of a key pair: from its public key object, else (some tokens) from the private key. */
  #publicKeyOf(label: string, privateKey: Handle): Hex {
    const { api } = this.#module
    const publicObject = this.#findKey(api.CKO_PUBLIC_KEY, label)
    if (publicObject !== undefined) return decodeEcPoint(this.#attribute(publicObject, api.CKA_EC_POINT))
    return decodeEcPoint(this.#attribute(privateKey, api.CKA_EC_POINT))
  }

  #resolve(label: string): ResolvedKey {
    const cached = this.#keys.get(label)
    if (cached !== undefined) return cached
    const privateKey = this.#findKey(this.#module.api.CKO_PRIVATE_KEY, label)
    if (privateKey === undefined) throw new KeyNotFoundError(STORE, label, { details: { token: this.#token } })
    const publicKey = this.#publicKeyOf(label, privateKey)
    const key = { privateKey, publicKey, address: publicKeyToAddress(publicKey) }
    this.#keys.set(label, key)
    return key
  }

  protected _generate(label: string, signal: AbortSignal): Promise<GeneratedKey> {
    return this.#run(async () => {
      const { api, pkcs11 } = this.#module
      if (this.#findKey(api.CKO_PRIVATE_KEY, label) !== undefined) throw new KeyExistsError(STORE, label)
      // CKA_ID pairs the two objects for other tools (pkcs11-tool, p11-kit) as well.
      const id = randomBytes(CKA_ID_BYTES)
      const common = [
        { type: api.CKA_KEY_TYPE, value: api.CKK_EC },
        { type: api.CKA_TOKEN, value: true },
        { type: api.CKA_LABEL, value: label },
        { type: api.CKA_ID, value: id },
      ]
      const publicTemplate = [
        { type: api.CKA_CLASS, value: api.CKO_PUBLIC_KEY },
        ...common,
        { type: api.CKA_PRIVATE, value: false },
        { type: api.CKA_EC_PARAMS, value: EC_PARAMS },
        { type: api.CKA_VERIFY, value: true },
        { type: api.CKA_ENCRYPT, value: false },
        { type: api.CKA_WRAP, value: false },
      ]
      const privateTemplate = [
        { type: api.CKA_CLASS, value: api.CKO_PRIVATE_KEY },
        ...common,
        { type: api.CKA_PRIVATE, value: true },
        // PKCS#11 v2.40 §4.9: a sensitive key's value cannot be read; a non-extractable one cannot be wrapped out.
        { type: api.CKA_SENSITIVE, value: true },
        { type: api.CKA_EXTRACTABLE, value: false },
        // Least privilege: the key signs and does nothing else.
        { type: api.CKA_SIGN, value: true },
        { type: api.CKA_DECRYPT, value: false },
        { type: api.CKA_UNWRAP, value: false },
        { type: api.CKA_DERIVE, value: false },
      ]
      const pair = await this.#callAsync('C_GenerateKeyPair', () =>
        pkcs11.C_GenerateKeyPairAsync(this.#session, { mechanism: api.CKM_EC_KEY_PAIR_GEN }, publicTemplate, privateTemplate),
      )
      const publicKey = decodeEcPoint(this.#attribute(pair.publicKey, api.CKA_EC_POINT))
      const address = publicKeyToAddress(publicKey)
      this.#keys.set(label, { privateKey: pair.privateKey, publicKey, address })
      this.#logger.info({ label, address, token: this.#token }, 'generated key in token')
      return { label, address, publicKey }
    }, signal)
  }

  protected _list(signal: AbortSignal): Promise<KeyInfo[]> {
    return this.#run(() => {
      const { api } = this.#module
      const handles = this.#find(
        [
          { type: api.CKA_CLASS, value: api.CKO_PRIVATE_KEY },
          { type: api.CKA_KEY_TYPE, value: api.CKK_EC },
        ],
        Number.MAX_SAFE_INTEGER,
      )
      const keys: KeyInfo[] = []
      for (const handle of handles) {
        signal.throwIfAborted()
        try {
          if (!this.#attribute(handle, api.CKA_EC_PARAMS).equals(EC_PARAMS)) continue
          const label = this.#attribute(handle, api.CKA_LABEL).toString('utf8')
          // Keys other tools made under labels we cannot address are not ours to list.
          if (label.length === 0 || label.length > KEY_LABEL_MAX_LENGTH || !KEY_LABEL_PATTERN.test(label)) continue
          keys.push({ label, address: this.#resolve(label).address })
        } catch (error) {
          this.#logger.warn({ code: (error as { code?: unknown }).code }, 'skipped a token key while listing')
        }
      }
      return keys
    }, signal)
  }

  protected _publicKey(label: string, signal: AbortSignal): Promise<Hex> {
    return this.#run(() => this.#resolve(label).publicKey, signal)
  }

  protected async _open(label: string, signal: AbortSignal): Promise<BackendKey> {
    const key = await this.#run(() => this.#resolve(label), signal)
    return {
      address: key.address,
      publicKey: key.publicKey,
      sign: (digest, signSignal) =>
        this.#run(async () => {
          const { api, pkcs11 } = this.#module
          this.#call('C_SignInit', () => pkcs11.C_SignInit(this.#session, { mechanism: api.CKM_ECDSA }, key.privateKey))
          const raw = await this.#callAsync('C_Sign', () =>
            pkcs11.C_SignAsync(this.#session, Buffer.from(hexToBytes(digest)), Buffer.alloc(SIGNATURE_BUFFER_BYTES)),
          )
          return toRecoverableSignature(raw, digest, key.address)
        }, signSignal),
    }
  }

  protected async _close(): Promise<void> {
    await this.#queue.run(() => {
      if (!this.#sessionOpen) return
      this.#sessionOpen = false
      this.#keys.clear()
      try {
        // Closing the application's last session on the token also logs it out (PKCS#11 v2.40 §5.6).
        this.#module.pkcs11.C_CloseSession(this.#session)
      } catch (error) {
        this.#logger.warn({ code: returnCodeOf(error)?.rcName }, 'C_CloseSession failed')
      } finally {
        this.#module.release()
      }
    })
  }
}

/** The slot of the configured token; TokenNotFoundError when there is none. */
function findSlot(module: Pkcs11Module, token: Pkcs11KeyStoreConfig['token'], description: string): Handle {
  const { api, pkcs11 } = module
  const call = <T>(method: string, f: () => T): T => {
    try {
      return f()
    } catch (error) {
      throw toPkcs11Error(error, method, description)
    }
  }
  if ('label' in token) {
    const slots = call('C_GetSlotList', () => pkcs11.C_GetSlotList(true))
    for (const slot of slots) {
      const info = call('C_GetTokenInfo', () => pkcs11.C_GetTokenInfo(slot))
      // CK_TOKEN_INFO.label is blank-padded to 32 bytes (PKCS#11 v2.40 §3.2).
      if (info.label.trimEnd() !== token.label) continue
      if ((info.flags & api.CKF_TOKEN_INITIALIZED) === 0) throw new TokenNotFoundError(description, 'the token is not initialised')
      return slot
    }
    throw new TokenNotFoundError(description, `no slot holds a token with this label (${slots.length} tokens present)`)
  }
  // A slot id is a CK_ULONG, which pkcs11js passes as a native-endian buffer of its size.
  const all = call('C_GetSlotList', () => pkcs11.C_GetSlotList(false))
  const size = all[0]?.length ?? 8
  const slot = Buffer.alloc(size)
  const id = BigInt(token.slot)
  if (size === 8) {
    if (endianness() === 'LE') slot.writeBigUInt64LE(id)
    else slot.writeBigUInt64BE(id)
  } else {
    if (id > 0xffffffffn) throw new TokenNotFoundError(description, 'slot id does not fit a 32-bit CK_ULONG')
    if (endianness() === 'LE') slot.writeUInt32LE(Number(id))
    else slot.writeUInt32BE(Number(id))
  }
  // Asking the module (rather than searching the list) gives its own CKR_SLOT_ID_INVALID or
  // CKR_TOKEN_NOT_PRESENT, which the typed error carries.
  const info = call('C_GetTokenInfo', () => pkcs11.C_GetTokenInfo(slot))
  if ((info.flags & api.CKF_TOKEN_INITIALIZED) === 0) throw new TokenNotFoundError(description, 'the token is not initialised')
  return slot
}

/**
 * Loads the configured PKCS#11 module, finds the token, opens a read-write session and logs in
 * with the PIN from its configured source. The PIN is used once, here, and never logged.
 */
export async function openPkcs11KeyStore(config: unknown, options: OpenKeyStoreOptions = {}): Promise<Pkcs11KeyStore> {
  const parsed = parseKeyStoreConfig(pkcs11KeyStoreConfigSchema, config)
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'hardware:keys:pkcs11' })
  options.signal?.throwIfAborted()
  const token = describeToken(parsed.token)
  const pin = await readSecret({
    source: parsed.pin,
    secret: 'PIN',
    logger,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  })
  options.signal?.throwIfAborted()
  const module = acquirePkcs11Module(parsed.module)
  const { api, pkcs11 } = module
  let session: Handle | undefined
  try {
    const slot = findSlot(module, parsed.token, token)
    session = pkcs11.C_OpenSession(slot, api.CKF_RW_SESSION | api.CKF_SERIAL_SESSION)
    try {
      pkcs11.C_Login(session, api.CKU_USER, pin)
    } catch (error) {
      // Login state is per application and token: another store in this process may hold it.
      if (returnCodeOf(error)?.rcName !== 'CKR_USER_ALREADY_LOGGED_IN') throw toPkcs11Error(error, 'C_Login', token)
    }
    logger.info({ module: module.path, token }, 'logged in to token')
    return new Pkcs11KeyStore({ module, session, token, logger })
  } catch (error) {
    if (session !== undefined) {
      try {
        pkcs11.C_CloseSession(session)
      } catch (closeError) {
        logger.warn({ code: returnCodeOf(closeError)?.rcName }, 'C_CloseSession failed')
      }
    }
    module.release()
    throw toPkcs11Error(error, 'C_OpenSession', token)
  }
}
