// The KeyStore interface and the abstract class every backend extends, in the style of
// abstract-level: each public method validates its arguments and the store's state, supplies a
// default time-out, then calls the backend's protected `_method`. Backends declare what they
// support; test/hardware/keys/conformance.ts runs the same suite against each of them.
import { isHex, type Address, type Hex } from 'viem'
import { InvalidArgumentError } from '../../protocols/errors.js'
import type { SignDigestOptions, Signer } from '../../protocols/crypto/signer.js'
import type { KEY_CURVES } from '../constants.js'
import {
  KEY_GENERATE_TIMEOUT_MS,
  KEY_LABEL_MAX_LENGTH,
  KEY_LABEL_PATTERN,
  KEY_LIST_TIMEOUT_MS,
  KEY_OPEN_TIMEOUT_MS,
  KEY_SIGN_TIMEOUT_MS,
} from '../constants.js'
import { KeyStoreClosedError } from '../errors.js'

export type KeyCurve = (typeof KEY_CURVES)[number]

/** What a backend can do, so that callers (and the conformance suite) need not know which one it is. */
export interface KeyStoreSupports {
  /** Whether the private key exists outside a hardware boundary and could be copied out. */
  readonly extractable: boolean
  /** Whether keys are generated and used inside a hardware (or emulated hardware) token. */
  readonly hardware: boolean
  /** Whether keys outlive the store: a new store on the same directory or token sees them. */
  readonly persistent: boolean
  readonly curves: readonly KeyCurve[]
}

export interface KeyInfo {
  readonly label: string
  /** The key's address where the store knows it without a password (a file may omit it). */
  readonly address?: Address
}

export interface GeneratedKey {
  readonly label: string
  readonly address: Address
  /** Uncompressed public key, 0x04-prefixed, 65 bytes. */
  readonly publicKey: Hex
}

/** A Signer opened from a key store. It stops working when its store is closed. */
export type KeySigner = Signer & {
  readonly label: string
  readonly publicKey: Hex
}

export interface KeyStoreOperationOptions {
  signal?: AbortSignal
}

export interface KeyStore {
  /** The backend, as recorded in a DeviceCertificate's key storage field: `file`, `pkcs11`. */
  readonly kind: string
  readonly supports: KeyStoreSupports
  readonly status: 'open' | 'closed'
  /** Creates a new key under `label`; KeyExistsError when the label is taken. */
  generate(label: string, options?: KeyStoreOperationOptions): Promise<GeneratedKey>
  /** The keys the store holds, sorted by label. */
  list(options?: KeyStoreOperationOptions): Promise<KeyInfo[]>
  /** A Signer for the key under `label`; KeyNotFoundError when there is none. */
  open(label: string, options?: KeyStoreOperationOptions): Promise<KeySigner>
  /** The uncompressed public key under `label`. */
  publicKey(label: string, options?: KeyStoreOperationOptions): Promise<Hex>
  /** Releases the store's resources (sessions, modules); idempotent. */
  close(): Promise<void>
}

/** What a backend hands back from `_open`: the key, and how to sign with it. */
export interface BackendKey {
  readonly address: Address
  readonly publicKey: Hex
  /**
   * A 65-byte Ethereum signature (low-S, v = 27 + recovery id) over a validated 32-byte digest,
   * already checked to recover to `address`.
   */
  sign(digest: Hex, signal: AbortSignal): Promise<Hex>
}

const DIGEST_HEX_LENGTH = 2 + 64

/** Throws InvalidArgumentError naming `label` unless it is a usable key label. */
export function assertKeyLabel(label: unknown): asserts label is string {
  if (typeof label !== 'string') throw new InvalidArgumentError('label', 'expected a string')
  if (label.length === 0 || label.length > KEY_LABEL_MAX_LENGTH)
    throw new InvalidArgumentError('label', `expected 1 to ${KEY_LABEL_MAX_LENGTH} characters, got ${label.length}`)
  if (!KEY_LABEL_PATTERN.test(label))
    throw new InvalidArgumentError('label', 'expected letters, digits, ".", "_" or "-", starting with a letter or digit')
}

const signalOf = (options: KeyStoreOperationOptions | undefined, timeoutMs: number): AbortSignal => {
  const signal = options?.signal
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgumentError('signal', 'expected an AbortSignal')
  return signal ?? AbortSignal.timeout(timeoutMs)
}

export abstract class AbstractKeyStore implements KeyStore {
  abstract readonly kind: string
  abstract readonly supports: KeyStoreSupports
  #status: 'open' | 'closed' = 'open'

  get status(): 'open' | 'closed' {
    return this.#status
  }

  async generate(label: string, options?: KeyStoreOperationOptions): Promise<GeneratedKey> {
    assertKeyLabel(label)
    const signal = signalOf(options, KEY_GENERATE_TIMEOUT_MS)
    this.#assertOpen()
    signal.throwIfAborted()
    return this._generate(label, signal)
  }

  async list(options?: KeyStoreOperationOptions): Promise<KeyInfo[]> {
    const signal = signalOf(options, KEY_LIST_TIMEOUT_MS)
    this.#assertOpen()
    signal.throwIfAborted()
    const keys = await this._list(signal)
    return [...keys].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
  }

  async publicKey(label: string, options?: KeyStoreOperationOptions): Promise<Hex> {
    assertKeyLabel(label)
    const signal = signalOf(options, KEY_OPEN_TIMEOUT_MS)
    this.#assertOpen()
    signal.throwIfAborted()
    return this._publicKey(label, signal)
  }

  async open(label: string, options?: KeyStoreOperationOptions): Promise<KeySigner> {
    assertKeyLabel(label)
    const signal = signalOf(options, KEY_OPEN_TIMEOUT_MS)
    this.#assertOpen()
    signal.throwIfAborted()
    const key = await this._open(label, signal)
    return {
      label,
      address: key.address,
      publicKey: key.publicKey,
      keyStorage: this.kind,
      signDigest: async (digest: Hex, signOptions?: SignDigestOptions): Promise<Hex> => {
        if (!isHex(digest, { strict: true }) || digest.length !== DIGEST_HEX_LENGTH)
          throw new InvalidArgumentError('digest', 'expected 32 bytes of 0x-prefixed hex')
        const signSignal = signalOf(signOptions, KEY_SIGN_TIMEOUT_MS)
        this.#assertOpen()
        signSignal.throwIfAborted()
        return key.sign(digest, signSignal)
      },
    }
  }

  async close(): Promise<void> {
    if (this.#status === 'closed') return
    this.#status = 'closed'
    await this._close()
  }

  #assertOpen(): void {
    if (this.#status === 'closed') throw new KeyStoreClosedError(this.kind)
  }

  protected abstract _generate(label: string, signal: AbortSignal): Promise<GeneratedKey>
  protected abstract _list(signal: AbortSignal): Promise<KeyInfo[]>
  protected abstract _publicKey(label: string, signal: AbortSignal): Promise<Hex>
  protected abstract _open(label: string, signal: AbortSignal): Promise<BackendKey>
  protected abstract _close(): Promise<void>
}
