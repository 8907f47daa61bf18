// Web3 Secret Storage Definition, version 3 (ethereum.org, "Web3 Secret Storage Definition"):
// the JSON key file that geth, ethers and most wallets read and write. The private key is
// encrypted with AES-128-CTR under the first half of a key derived from the password (scrypt, or
// PBKDF2-HMAC-SHA256 when reading older files); the MAC is keccak256(derivedKey[16..32] ||
// ciphertext). The primitives come from node:crypto (OpenSSL: native scrypt on the libuv thread
// pool, so the event loop keeps serving) and viem (keccak256); nothing here is hand-rolled.
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import * as secp from '@noble/secp256k1'
import { bytesToHex, concat, getAddress, keccak256, type Address } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { z } from 'zod'
import {
  KDF_MAX_SALT_BYTES,
  KEYSTORE_CIPHER,
  KEYSTORE_DKLEN,
  KEYSTORE_IV_BYTES,
  KEYSTORE_SALT_BYTES,
  KEYSTORE_VERSION,
  PBKDF2_MAX_ITERATIONS,
  SCRYPT_DEFAULTS,
  SCRYPT_MAX_MEMORY_BYTES,
  SCRYPT_MAX_N,
  SCRYPT_MAX_P,
  SCRYPT_MAX_R,
} from '../../constants.js'
import { KeyDecryptError, KeyFormatError } from '../../errors.js'
import { InvalidArgumentError } from '../../../protocols/errors.js'

const scryptAsync = promisify(scrypt) as (
  password: Uint8Array,
  salt: Uint8Array,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>
const pbkdf2Async = promisify(pbkdf2)

const PRIVATE_KEY_BYTES = 32
const MAC_BYTES = 32
const ADDRESS_BYTES = 20

/** Hex of `bytes` bytes (any length when absent), with or without 0x: both occur in the wild. */
const hexField = (bytes?: number) =>
  z
    .string()
    .regex(/^(0x)?([0-9a-fA-F]{2})*$/, 'expected hex')
    .refine((s) => bytes === undefined || s.replace(/^0x/, '').length === 2 * bytes, {
      message: `expected ${bytes} bytes of hex`,
    })

const scryptParamsSchema = z.object({
  dklen: z.literal(KEYSTORE_DKLEN),
  n: z.number().int().min(2).max(SCRYPT_MAX_N),
  r: z.number().int().min(1).max(SCRYPT_MAX_R),
  p: z.number().int().min(1).max(SCRYPT_MAX_P),
  salt: hexField().refine((s) => s.replace(/^0x/, '').length <= 2 * KDF_MAX_SALT_BYTES, {
    message: `at most ${KDF_MAX_SALT_BYTES} bytes`,
  }),
})

const pbkdf2ParamsSchema = z.object({
  dklen: z.literal(KEYSTORE_DKLEN),
  c: z.number().int().min(1).max(PBKDF2_MAX_ITERATIONS),
  prf: z.literal('hmac-sha256'),
  salt: hexField().refine((s) => s.replace(/^0x/, '').length <= 2 * KDF_MAX_SALT_BYTES, {
    message: `at most ${KDF_MAX_SALT_BYTES} bytes`,
  }),
})

const cryptoSchema = z.object({
  cipher: z.literal(KEYSTORE_CIPHER),
  cipherparams: z.object({ iv: hexField(KEYSTORE_IV_BYTES) }),
  ciphertext: hexField(PRIVATE_KEY_BYTES),
  kdf: z.enum(['scrypt', 'pbkdf2']),
  kdfparams: z.unknown(),
  mac: hexField(MAC_BYTES),
})

// Unknown top-level members (ethers' "x-ethers", MyEtherWallet's extras) are allowed and ignored.
const keystoreSchema = z.object({
  version: z.literal(KEYSTORE_VERSION),
  id: z.string().optional(),
  address: hexField(ADDRESS_BYTES).optional(),
  crypto: cryptoSchema.optional(),
  // ethers and some older wallets write "Crypto".
  Crypto: cryptoSchema.optional(),
})

export interface KeystoreV3Json {
  version: 3
  id: string
  address: string
  crypto: {
    cipher: typeof KEYSTORE_CIPHER
    cipherparams: { iv: string }
    ciphertext: string
    kdf: 'scrypt'
    kdfparams: { dklen: number; n: number; r: number; p: number; salt: string }
    mac: string
  }
}

export interface ScryptParameters {
  n: number
  r: number
  p: number
}

const fromHex = (s: string): Buffer => Buffer.from(s.replace(/^0x/, ''), 'hex')

const issueField = (prefix: string, path: readonly PropertyKey[]): string =>
  [prefix, ...path.map(String)].filter((part) => part !== '').join('.')

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, prefix: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  throw new KeyFormatError(issueField(prefix, issue?.path ?? []) || 'file', issue?.message ?? 'invalid')
}

/** Checks scrypt parameters before any memory is committed to them (RFC 7914 §2). */
function checkScrypt(params: ScryptParameters, field: string): void {
  const { n, r, p } = params
  if (!Number.isInteger(n) || n < 2 || n > SCRYPT_MAX_N || (n & (n - 1)) !== 0)
    throw new KeyFormatError(`${field}.n`, `expected a power of two from 2 to ${SCRYPT_MAX_N}`)
  if (!Number.isInteger(r) || r < 1 || r > SCRYPT_MAX_R) throw new KeyFormatError(`${field}.r`, `expected 1 to ${SCRYPT_MAX_R}`)
  if (!Number.isInteger(p) || p < 1 || p > SCRYPT_MAX_P) throw new KeyFormatError(`${field}.p`, `expected 1 to ${SCRYPT_MAX_P}`)
  // RFC 7914 §2: N must be less than 2^(128 · r / 8). OpenSSL and noble both enforce it, so the
  // spec's own scrypt test vector (N = 2^18, r = 1) is refused by every implementation.
  if (16 * r < 31 && n >= 2 ** (16 * r)) throw new KeyFormatError(`${field}.n`, `must be less than 2^(16·r) = 2^${16 * r}`)
  if (scryptMemory(params) > SCRYPT_MAX_MEMORY_BYTES)
    throw new KeyFormatError(`${field}.n`, `needs ${scryptMemory(params)} bytes, more than ${SCRYPT_MAX_MEMORY_BYTES}`)
}

/** Bytes scrypt allocates: the 128·N·r of ROMix's V plus 128·r·p for B (RFC 7914 §5, §6). */
const scryptMemory = ({ n, r, p }: ScryptParameters): number => 128 * n * r + 128 * r * p

const deriveScrypt = (password: Uint8Array, salt: Uint8Array, params: ScryptParameters): Promise<Buffer> =>
  scryptAsync(password, salt, KEYSTORE_DKLEN, {
    N: params.n,
    r: params.r,
    p: params.p,
    // Node's maxmem check counts a little more than ROMix itself; double the bound to be safe.
    maxmem: 2 * scryptMemory(params),
  })

const macOf = (derivedKey: Uint8Array, ciphertext: Uint8Array): Buffer =>
  Buffer.from(keccak256(concat([derivedKey.subarray(16, 32), ciphertext]), 'bytes'))

/** The password bytes ethers uses (UTF-8 of the NFKC form); geth uses the raw UTF-8. */
const passwordCandidates = (password: string): Buffer[] => {
  const nfkc = Buffer.from(password.normalize('NFKC'), 'utf8')
  const raw = Buffer.from(password, 'utf8')
  return nfkc.equals(raw) ? [nfkc] : [nfkc, raw]
}

export interface EncryptKeystoreV3Parameters {
  privateKey: Uint8Array
  password: string
  scrypt?: ScryptParameters
}

/** Encrypts a secp256k1 private key into a v3 key file (scrypt, aes-128-ctr, keccak256 MAC). */
export async function encryptKeystoreV3(parameters: EncryptKeystoreV3Parameters): Promise<KeystoreV3Json> {
  const { privateKey, password } = parameters
  const params = parameters.scrypt ?? SCRYPT_DEFAULTS
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== PRIVATE_KEY_BYTES || !secp.utils.isValidSecretKey(privateKey))
    throw new InvalidArgumentError('privateKey', 'expected a valid 32-byte secp256k1 scalar')
  if (typeof password !== 'string' || password.length === 0) throw new InvalidArgumentError('password', 'expected a non-empty string')
  try {
    checkScrypt(params, 'scrypt')
  } catch (error) {
    const field = error instanceof KeyFormatError ? String(error.details.field) : 'scrypt'
    throw new InvalidArgumentError(field, error instanceof Error ? error.message : 'invalid', { cause: error })
  }
  const salt = randomBytes(KEYSTORE_SALT_BYTES)
  const iv = randomBytes(KEYSTORE_IV_BYTES)
  const [passwordBytes] = passwordCandidates(password)
  const derivedKey = await deriveScrypt(passwordBytes ?? Buffer.alloc(0), salt, params)
  try {
    const cipher = createCipheriv(KEYSTORE_CIPHER, derivedKey.subarray(0, 16), iv)
    const ciphertext = Buffer.concat([cipher.update(privateKey), cipher.final()])
    const address = publicKeyToAddress(bytesToHex(secp.getPublicKey(privateKey, false)))
    return {
      version: KEYSTORE_VERSION,
      id: randomUUID(),
      address: address.slice(2).toLowerCase(),
      crypto: {
        cipher: KEYSTORE_CIPHER,
        cipherparams: { iv: iv.toString('hex') },
        ciphertext: ciphertext.toString('hex'),
        kdf: 'scrypt',
        kdfparams: { dklen: KEYSTORE_DKLEN, n: params.n, r: params.r, p: params.p, salt: salt.toString('hex') },
        mac: macOf(derivedKey, ciphertext).toString('hex'),
      },
    }
  } finally {
    derivedKey.fill(0)
  }
}

export interface DecryptKeystoreV3ReturnType {
  /** The 32-byte private key; the caller should zero it once done. */
  privateKey: Uint8Array
  address: Address
}

/**
 * Decrypts a v3 key file (a parsed JSON value). Throws KeyFormatError naming the field for a
 * file it cannot read, KeyDecryptError when the MAC does not match (wrong password or altered
 * file). KDF parameters are bounded before any work is done.
 */
export async function decryptKeystoreV3(
  json: unknown,
  password: string,
  options: { signal?: AbortSignal } = {},
): Promise<DecryptKeystoreV3ReturnType> {
  const file = parseOrThrow(keystoreSchema, json, '')
  const crypto = file.crypto ?? file.Crypto
  if (crypto === undefined) throw new KeyFormatError('crypto', 'missing')
  const cryptoField = file.crypto === undefined ? 'Crypto' : 'crypto'
  const ciphertext = fromHex(crypto.ciphertext)
  const expectedMac = fromHex(crypto.mac)
  const iv = fromHex(crypto.cipherparams.iv)

  let derive: (password: Uint8Array) => Promise<Buffer>
  if (crypto.kdf === 'scrypt') {
    const params = parseOrThrow(scryptParamsSchema, crypto.kdfparams, `${cryptoField}.kdfparams`)
    checkScrypt(params, `${cryptoField}.kdfparams`)
    const salt = fromHex(params.salt)
    derive = (bytes) => deriveScrypt(bytes, salt, params)
  } else {
    const params = parseOrThrow(pbkdf2ParamsSchema, crypto.kdfparams, `${cryptoField}.kdfparams`)
    const salt = fromHex(params.salt)
    derive = (bytes) => pbkdf2Async(bytes, salt, params.c, KEYSTORE_DKLEN, 'sha256')
  }

  for (const candidate of passwordCandidates(password)) {
    options.signal?.throwIfAborted()
    const derivedKey = await derive(candidate)
    try {
      if (!timingSafeEqual(macOf(derivedKey, ciphertext), expectedMac)) continue
      const decipher = createDecipheriv(KEYSTORE_CIPHER, derivedKey.subarray(0, 16), iv)
      const privateKey = new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]))
      if (!secp.utils.isValidSecretKey(privateKey)) throw new KeyFormatError(`${cryptoField}.ciphertext`, 'not a valid secp256k1 key')
      const address = publicKeyToAddress(bytesToHex(secp.getPublicKey(privateKey, false)))
      if (file.address !== undefined && getAddress(`0x${file.address.replace(/^0x/, '')}`) !== address) {
        privateKey.fill(0)
        throw new KeyFormatError('address', 'does not match the decrypted key')
      }
      return { privateKey, address }
    } finally {
      derivedKey.fill(0)
    }
  }
  throw new KeyDecryptError()
}
