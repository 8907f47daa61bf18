// The file key store: the conformance suite, ethers interoperability in both directions, file
// modes, atomic writes and the bad cases of its configuration and files.
import t from 'tap'
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { Wallet, encryptKeystoreJson } from 'ethers'
import { pino } from 'pino'
import { keccak256, recoverAddress, toHex } from 'viem'
import { FileKeyStore, openFileKeyStore, openKeyStore } from '../../../hardware/keys/index.js'
import { SCRYPT_DEFAULTS } from '../../../hardware/constants.js'
import { keyStoreConformance } from './conformance.js'

const PASSWORD = 'correct horse battery staple'
const ENV = { CW_TEST_KEY_PASSWORD: PASSWORD }
/** Cheap scrypt for tests; the defaults are exercised once, below. */
const FAST = { n: 2 ** 10, r: 8, p: 1 }

const tempDir = async (): Promise<string> => {
  const directory = await mkdtemp(join(tmpdir(), 'cw-file-keys-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}
const configFor = (directory: string, extra: Record<string, unknown> = {}) => ({
  kind: 'file',
  directory,
  password: { env: 'CW_TEST_KEY_PASSWORD' },
  scrypt: FAST,
  ...extra,
})

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  return { code: 'DID_NOT_REJECT' }
}

let lastDirectory = ''
await keyStoreConformance(t, {
  async create() {
    lastDirectory = join(await tempDir(), 'keys')
    return openFileKeyStore(configFor(lastDirectory), { env: ENV })
  },
  reopen: () => openFileKeyStore(configFor(lastDirectory), { env: ENV }),
})

t.test('key files are v3 JSON, 0600, in a 0700 directory, written without leftovers', async (t) => {
  const directory = join(await tempDir(), 'created', 'keys')
  const store = await openFileKeyStore(configFor(directory), { env: ENV })
  t.teardown(() => store.close())
  t.equal((await stat(directory)).mode & 0o777, 0o700, 'the directory is created 0700')
  const key = await store.generate('device')
  t.equal((await stat(join(directory, 'device.json'))).mode & 0o777, 0o600, 'the key file is 0600')
  t.same(await readdir(directory), ['device.json'], 'no temporary file is left behind')
  const json = JSON.parse(await readFile(join(directory, 'device.json'), 'utf8')) as Record<string, unknown>
  t.match(json, {
    version: 3,
    address: key.address.slice(2).toLowerCase(),
    crypto: { cipher: 'aes-128-ctr', kdf: 'scrypt', kdfparams: { dklen: 32, n: FAST.n, r: 8, p: 1 } },
  })
  t.match(json.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a v4 UUID')
  t.notMatch(JSON.stringify(json), PASSWORD, 'the password is not in the file')
})

t.test('racing generates for one label: exactly one wins, the file is whole', async (t) => {
  const directory = await tempDir()
  const store = await openFileKeyStore(configFor(directory), { env: ENV })
  t.teardown(() => store.close())
  const results = await Promise.allSettled(Array.from({ length: 4 }, () => store.generate('race')))
  const won = results.filter((r) => r.status === 'fulfilled')
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  t.equal(won.length, 1, 'one generate wins')
  t.same(
    lost.map((r) => (r.reason as { code?: unknown }).code),
    ['CW_KEY_EXISTS', 'CW_KEY_EXISTS', 'CW_KEY_EXISTS'],
    'the others get KeyExistsError',
  )
  t.same(await readdir(directory), ['race.json'], 'no temporary files')
  const winner = won[0]?.status === 'fulfilled' ? won[0].value : undefined
  t.equal((await store.open('race')).address, winner?.address, 'the file on disk is the winner’s key')
})

t.test('a failed generate leaves the existing file byte for byte', async (t) => {
  const directory = await tempDir()
  const store = await openFileKeyStore(configFor(directory), { env: ENV })
  t.teardown(() => store.close())
  await store.generate('kept')
  const before = await readFile(join(directory, 'kept.json'))
  t.equal((await rejection(store.generate('kept'))).code, 'CW_KEY_EXISTS')
  t.same(await readFile(join(directory, 'kept.json')), before)
})

t.test('ethers → here: a file from Wallet.encrypt (ethers defaults) opens and signs alike', async (t) => {
  const directory = await tempDir()
  const wallet = Wallet.createRandom()
  const json = await wallet.encrypt(PASSWORD)
  t.equal((JSON.parse(json) as { Crypto: { kdfparams: { n: number } } }).Crypto.kdfparams.n, 2 ** 17, 'ethers wrote its default N')
  await writeFile(join(directory, 'from-ethers.json'), json, { mode: 0o600 })
  const store = await openFileKeyStore(configFor(directory), { env: ENV })
  t.teardown(() => store.close())
  t.same(await store.list(), [{ label: 'from-ethers', address: wallet.address }])
  const signer = await store.open('from-ethers')
  t.equal(signer.address, wallet.address)
  const digest = keccak256(toHex('interop'))
  const signature = await signer.signDigest(digest)
  // RFC 6979 nonces: the same key signs the same digest to the same bytes in ethers and here.
  t.equal(signature, wallet.signingKey.sign(digest).serialized, 'identical to ethers’ signature')
  t.equal(await recoverAddress({ hash: digest, signature }), wallet.address)
})

t.test('here → ethers: a file written with the default scrypt opens in Wallet.fromEncryptedJson', async (t) => {
  const directory = await tempDir()
  const store = await openFileKeyStore({ ...configFor(directory), scrypt: undefined }, { env: ENV })
  t.teardown(() => store.close())
  const key = await store.generate('to-ethers')
  const text = await readFile(join(directory, 'to-ethers.json'), 'utf8')
  t.match(JSON.parse(text), { crypto: { kdfparams: SCRYPT_DEFAULTS } }, 'written with SCRYPT_DEFAULTS')
  const wallet = await Wallet.fromEncryptedJson(text, PASSWORD)
  t.equal(wallet.address, key.address)
  const digest = keccak256(toHex('the other way'))
  t.equal(await (await store.open('to-ethers')).signDigest(digest), wallet.signingKey.sign(digest).serialized)
  await t.rejects(Wallet.fromEncryptedJson(text, 'wrong password'), 'ethers refuses a wrong password too')
})

t.test('passwords are normalised as ethers does (NFKC), and raw UTF-8 files (geth) still open', async (t) => {
  const directory = await tempDir()
  // "ﬁ" (U+FB01) is NFKC-normalised to "fi": ethers derives from "fi", geth from the raw bytes.
  const password = 'pass-\uFB01-word'
  const env = { CW_TEST_KEY_PASSWORD: password }
  const store = await openFileKeyStore(configFor(directory), { env })
  t.teardown(() => store.close())
  const key = await store.generate('nfkc')
  const ours = await readFile(join(directory, 'nfkc.json'), 'utf8')
  t.equal((await Wallet.fromEncryptedJson(ours, password)).address, key.address, 'ethers opens ours')
  const wallet = Wallet.createRandom()
  const raw = await encryptKeystoreJson(
    { address: wallet.address, privateKey: wallet.privateKey },
    new TextEncoder().encode(password),
    { scrypt: { N: FAST.n } },
  )
  await writeFile(join(directory, 'raw.json'), raw, { mode: 0o600 })
  t.equal((await store.open('raw')).address, wallet.address, 'a raw-UTF-8 (geth-style) file opens')
})

t.test('a wrong password is KeyDecryptError and nothing is logged of it', async (t) => {
  const directory = await tempDir()
  const lines: string[] = []
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString())
        done()
      },
    }),
  )
  const good = await openFileKeyStore(configFor(directory), { env: ENV, logger })
  await good.generate('locked')
  await good.close()
  const bad = await openFileKeyStore(configFor(directory), { env: { CW_TEST_KEY_PASSWORD: 'not the password' }, logger })
  t.teardown(() => bad.close())
  const error = await rejection(bad.open('locked'))
  t.equal(error.code, 'CW_KEY_FILE_DECRYPT')
  t.equal(error.name, 'KeyDecryptError')
  t.equal((await rejection(bad.publicKey('locked'))).code, 'CW_KEY_FILE_DECRYPT', 'publicKey needs the password too')
  t.ok(lines.length > 0, 'the store logged')
  t.notOk(lines.some((l) => l.includes(PASSWORD) || l.includes('not the password')), 'no password in the logs')
})

t.test('the password comes from a file or an environment variable, with typed errors', async (t) => {
  const directory = await tempDir()
  const passwordFile = join(directory, 'password.txt')
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
  const fromFile = await openFileKeyStore({ ...configFor(join(directory, 'keys')), password: { file: passwordFile } })
  const key = await fromFile.generate('k')
  await fromFile.close()
  const fromEnv = await openFileKeyStore(configFor(join(directory, 'keys')), { env: ENV })
  t.equal((await fromEnv.open('k')).address, key.address, 'the file (less its newline) and the env var give the same password')
  await fromEnv.close()

  const unset = await rejection(openFileKeyStore(configFor(directory), { env: {} }))
  t.equal(unset.code, 'CW_SECRET_UNAVAILABLE')
  t.match(unset.details, { secret: 'password', source: 'env', name: 'CW_TEST_KEY_PASSWORD' })
  const missing = await rejection(openFileKeyStore({ ...configFor(directory), password: { file: join(directory, 'nope') } }))
  t.equal(missing.code, 'CW_SECRET_UNAVAILABLE')
  t.match(missing.details, { source: 'file' })
})

t.test('bad configuration is InvalidArgumentError naming the field', async (t) => {
  const directory = await tempDir()
  const cases: [unknown, string][] = [
    [null, 'keyStore'],
    [{ ...configFor(directory), directory: '' }, 'keyStore.directory'],
    [{ ...configFor(directory), password: undefined }, 'keyStore.password'],
    [{ ...configFor(directory), password: { env: 'NOT VALID' } }, 'keyStore.password'],
    [{ ...configFor(directory), password: 'on the command line' }, 'keyStore.password'],
    [{ ...configFor(directory), scrypt: { n: 1000, r: 8, p: 1 } }, 'keyStore.scrypt.n'],
    [{ ...configFor(directory), scrypt: { n: 2 ** 21, r: 8, p: 1 } }, 'keyStore.scrypt.n'],
    [{ ...configFor(directory), scrypt: { n: 1024, r: 0, p: 1 } }, 'keyStore.scrypt.r'],
    [{ ...configFor(directory), extra: true }, 'keyStore'],
    [{ ...configFor(directory), kind: 'pkcs11' }, 'keyStore.kind'],
  ]
  for (const [config, field] of cases) {
    const error = await rejection(openFileKeyStore(config, { env: ENV }))
    t.equal(error.code, 'CW_INVALID_ARGUMENT', JSON.stringify(config))
    t.match((error.details as { field: string }).field, field, `names ${field}`)
  }
  const unknownKind = await rejection(openKeyStore({ kind: 'tpm' }))
  t.match(unknownKind, { code: 'CW_INVALID_ARGUMENT', details: { field: 'keyStore.kind' } })
  const dispatched = await openKeyStore(configFor(directory), { env: ENV })
  t.ok(dispatched instanceof FileKeyStore, 'openKeyStore dispatches on kind')
  await dispatched.close()
})

t.test('a directory that cannot be one is KeyStoreIoError', async (t) => {
  const directory = await tempDir()
  await writeFile(join(directory, 'plain-file'), 'x')
  const error = await rejection(openFileKeyStore(configFor(join(directory, 'plain-file')), { env: ENV }))
  t.equal(error.code, 'CW_KEY_STORE_IO')
  t.match(error.details, { path: join(directory, 'plain-file') })
})

t.test('malformed key files: typed errors on open, and listing goes on', async (t) => {
  const directory = await tempDir()
  const store = await openFileKeyStore(configFor(directory), { env: ENV })
  t.teardown(() => store.close())
  const good = await store.generate('good')
  const text = await readFile(join(directory, 'good.json'), 'utf8')
  const valid = JSON.parse(text) as { crypto: Record<string, unknown> & { kdfparams: Record<string, unknown> }; address: string }
  const variant = (f: (json: typeof valid) => void): string => {
    const copy = structuredClone(valid)
    f(copy)
    return JSON.stringify(copy)
  }
  const cases: [string, string, string][] = [
    ['not-json', '{"version": 3,', 'file'],
    ['v2', variant((j) => Object.assign(j, { version: 2 })), 'version'],
    ['gcm', variant((j) => Object.assign(j.crypto, { cipher: 'aes-256-gcm' })), 'crypto.cipher'],
    ['short-iv', variant((j) => Object.assign(j.crypto, { cipherparams: { iv: 'abcd' } })), 'crypto.cipherparams.iv'],
    ['kdf', variant((j) => Object.assign(j.crypto, { kdf: 'argon2id' })), 'crypto.kdf'],
    ['n-odd', variant((j) => Object.assign(j.crypto.kdfparams, { n: 1000 })), 'crypto.kdfparams.n'],
    ['n-huge', variant((j) => Object.assign(j.crypto.kdfparams, { n: 2 ** 30 })), 'crypto.kdfparams.n'],
    ['p-huge', variant((j) => Object.assign(j.crypto.kdfparams, { p: 1000 })), 'crypto.kdfparams.p'],
    ['dklen', variant((j) => Object.assign(j.crypto.kdfparams, { dklen: 16 })), 'crypto.kdfparams.dklen'],
    ['no-crypto', variant((j) => Object.assign(j, { crypto: undefined })), 'crypto'],
    ['address', variant((j) => Object.assign(j, { address: '11'.repeat(20) })), 'address'],
    ['huge', JSON.stringify({ ...valid, padding: 'x'.repeat(70_000) }), 'file'],
  ]
  for (const [label, content] of cases) await writeFile(join(directory, `${label}.json`), content, { mode: 0o600 })
  for (const [label, , field] of cases) {
    const error = await rejection(store.open(label))
    t.equal(error.code, 'CW_KEY_FORMAT', `${label}: KeyFormatError`)
    t.equal((error.details as { field?: unknown }).field, field, `${label}: names ${field}`)
  }
  const altered = variant((j) => Object.assign(j.crypto, { ciphertext: `${'00'.repeat(31)}01` }))
  await writeFile(join(directory, 'altered.json'), altered, { mode: 0o600 })
  t.equal((await rejection(store.open('altered'))).code, 'CW_KEY_FILE_DECRYPT', 'an altered ciphertext fails the MAC')
  const listed = await store.list()
  t.equal(listed.length, cases.length + 2, 'every file is listed, readable or not')
  t.same(
    listed.find((k) => k.label === 'good'),
    { label: 'good', address: good.address },
  )
  t.same(
    listed.find((k) => k.label === 'not-json'),
    { label: 'not-json' },
    'an unreadable file lists without an address',
  )
  await mkdir(join(directory, 'dir.json'))
  t.equal((await rejection(store.open('dir'))).code, 'CW_KEY_FORMAT', 'a directory named like a key is not a key')
})

t.test('publicKey follows the file: a removed or replaced key file is not served from memory', async (t) => {
  const directory = await tempDir()
  const store = await openFileKeyStore(configFor(directory), { env: ENV })
  t.teardown(() => store.close())
  const first = await store.generate('swapped')
  t.equal(await store.publicKey('swapped'), first.publicKey)
  const other = await openFileKeyStore(configFor(join(directory, 'other')), { env: ENV })
  const second = await other.generate('swapped')
  await other.close()
  await writeFile(join(directory, 'swapped.json'), await readFile(join(directory, 'other', 'swapped.json')))
  t.equal(await store.publicKey('swapped'), second.publicKey, 'the replaced file’s key')
  await rm(join(directory, 'swapped.json'))
  t.equal((await rejection(store.publicKey('swapped'))).code, 'CW_KEY_NOT_FOUND', 'a removed file’s key is gone')
})
