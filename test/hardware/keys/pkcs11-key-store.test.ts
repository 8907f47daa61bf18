// The PKCS#11 key store against a real SoftHSM2 token initialised in a temporary directory: the
// conformance suite, proof that the private key cannot be read out, signature normalisation on
// the token's own output, sessions shared in one process, and each module error as its typed error.
import t from 'tap'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { keccak256, recoverAddress, toHex, type Hex } from 'viem'
import { SECP256K1_HALF_N, SECP256K1_N, parseSignature, verifyDigest } from '../../../protocols/index.js'
import { Pkcs11KeyStore, openKeyStore, openPkcs11KeyStore } from '../../../hardware/keys/index.js'
import { acquirePkcs11Module, type Pkcs11Module } from '../../../hardware/keys/pkcs11/module.js'
import { returnCodeOf } from '../../../hardware/keys/pkcs11/return-codes.js'
import { decodeEcPoint, toRecoverableSignature } from '../../../hardware/keys/pkcs11/ec.js'
import { SECP256K1_EC_PARAMS_HEX } from '../../../hardware/constants.js'
import { keyStoreConformance } from './conformance.js'
import { createSoftHsm } from './softhsm.js'

const PIN = '246813'
const ENV = { CW_TEST_PIN: PIN }
const hsm = await createSoftHsm(t)
// Every token this file uses, before any store initialises the module.
await hsm.initToken('conformance', PIN)
await hsm.initToken('second', PIN)
await hsm.initToken('errors', PIN)

const configFor = (token: { label: string } | { slot: number }, extra: Record<string, unknown> = {}) => ({
  kind: 'pkcs11',
  module: hsm.module,
  token,
  pin: { env: 'CW_TEST_PIN' },
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

const digestOf = (i: number): Hex => keccak256(toHex(`pkcs11 ${i}`))

/** A session of our own on a token, beside the store's, to look at what the store made. */
async function withSession<T>(token: string, f: (module: Pkcs11Module, session: Buffer) => T | Promise<T>): Promise<T> {
  const module = acquirePkcs11Module(hsm.module)
  const { api, pkcs11 } = module
  try {
    const slot = pkcs11.C_GetSlotList(true).find((s) => pkcs11.C_GetTokenInfo(s).label.trimEnd() === token)
    if (slot === undefined) throw new Error(`no token ${token}`)
    const session = pkcs11.C_OpenSession(slot, api.CKF_SERIAL_SESSION | api.CKF_RW_SESSION)
    try {
      try {
        pkcs11.C_Login(session, api.CKU_USER, PIN)
      } catch (error) {
        if (returnCodeOf(error)?.rcName !== 'CKR_USER_ALREADY_LOGGED_IN') throw error
      }
      return await f(module, session)
    } finally {
      pkcs11.C_CloseSession(session)
    }
  } finally {
    module.release()
  }
}

function findPrivateKey(module: Pkcs11Module, session: Buffer, label: string): Buffer {
  const { api, pkcs11 } = module
  pkcs11.C_FindObjectsInit(session, [
    { type: api.CKA_CLASS, value: api.CKO_PRIVATE_KEY },
    { type: api.CKA_LABEL, value: label },
  ])
  const [handle] = pkcs11.C_FindObjects(session, 2)
  pkcs11.C_FindObjectsFinal(session)
  if (handle === undefined) throw new Error(`no private key ${label}`)
  return handle
}

// `create` is called once, so the token it opens is empty; `reopen` opens the same token again.
await keyStoreConformance(t, {
  create: () => openPkcs11KeyStore(configFor({ label: 'conformance' }), { env: ENV }),
  reopen: () => openPkcs11KeyStore(configFor({ label: 'conformance' }), { env: ENV }),
})

t.test('the private key is generated in the token and cannot be read out', async (t) => {
  const store = await openPkcs11KeyStore(configFor({ label: 'second' }), { env: ENV })
  t.teardown(() => store.close())
  const key = await store.generate('guarded')
  await withSession('second', (module, session) => {
    const { api, pkcs11 } = module
    const privateKey = findPrivateKey(module, session, 'guarded')
    let readError: unknown
    try {
      pkcs11.C_GetAttributeValue(session, privateKey, [{ type: api.CKA_VALUE }])
    } catch (error) {
      readError = error
    }
    t.same(returnCodeOf(readError), { rc: api.CKR_ATTRIBUTE_SENSITIVE, rcName: 'CKR_ATTRIBUTE_SENSITIVE' }, 'reading CKA_VALUE fails with CKR_ATTRIBUTE_SENSITIVE')
    const flag = (type: number): boolean => pkcs11.C_GetAttributeValue(session, privateKey, [{ type }])[0]?.value[0] === 1
    t.equal(flag(api.CKA_SENSITIVE), true, 'CKA_SENSITIVE')
    t.equal(flag(api.CKA_EXTRACTABLE), false, 'CKA_EXTRACTABLE is false')
    t.equal(flag(api.CKA_ALWAYS_SENSITIVE), true, 'CKA_ALWAYS_SENSITIVE: it was never in the clear')
    t.equal(flag(api.CKA_NEVER_EXTRACTABLE), true, 'CKA_NEVER_EXTRACTABLE')
    t.equal(flag(api.CKA_LOCAL), true, 'CKA_LOCAL: generated in the token, not imported')
    t.equal(flag(api.CKA_TOKEN), true, 'CKA_TOKEN: a token object, not a session object')
    t.equal(flag(api.CKA_SIGN), true, 'CKA_SIGN')
    t.equal(flag(api.CKA_DECRYPT), false, 'CKA_DECRYPT is off')
    const params = pkcs11.C_GetAttributeValue(session, privateKey, [{ type: api.CKA_EC_PARAMS }])[0]?.value
    t.equal(params?.toString('hex'), SECP256K1_EC_PARAMS_HEX, 'on secp256k1 (OID 1.3.132.0.10)')
  })
  const listing = await hsm.pkcs11Tool(['--token-label', 'second', '--login', '--pin', PIN, '--list-objects', '--type', 'privkey'])
  t.match(listing, /label:\s+guarded/, 'pkcs11-tool sees the key')
  t.match(listing, /Access:\s+sensitive, always sensitive, never extractable, local/, 'and reports it never extractable')
  t.match(listing, /Usage:\s+sign\n/, 'usable for signing only')
  t.equal(await store.publicKey('guarded'), key.publicKey)
})

t.test('the token’s raw r || s is high-S about half the time; every one normalises and recovers', async (t) => {
  const store = await openPkcs11KeyStore(configFor({ label: 'second' }), { env: ENV })
  t.teardown(() => store.close())
  const key = await store.generate('normalise')
  const signer = await store.open('normalise')
  let high = 0
  let bad = 0
  await withSession('second', (module, session) => {
    const { api, pkcs11 } = module
    const privateKey = findPrivateKey(module, session, 'normalise')
    for (let i = 0; i < 40; i++) {
      const digest = digestOf(i)
      pkcs11.C_SignInit(session, { mechanism: api.CKM_ECDSA }, privateKey)
      const raw = pkcs11.C_Sign(session, Buffer.from(digest.slice(2), 'hex'), Buffer.alloc(128))
      if (raw.length !== 64) bad++
      if (BigInt(`0x${raw.subarray(32).toString('hex')}`) > SECP256K1_HALF_N) high++
      const signature = toRecoverableSignature(raw, digest, key.address)
      if (parseSignature(signature).s > SECP256K1_HALF_N || !verifyDigest(digest, signature, key.address)) bad++
    }
  })
  t.equal(bad, 0, '40 raw signatures are 64 bytes and normalise to low-S signatures of the key')
  // With a fair coin, 0 or 40 high-S out of 40 has probability 2^-39.
  t.ok(high > 0 && high < 40, `the token returned ${high}/40 high-S signatures`)
  for (let i = 0; i < 8; i++) {
    const digest = digestOf(i)
    const signature = await signer.signDigest(digest)
    if ((await recoverAddress({ hash: digest, signature })) !== key.address) t.fail(`signature ${i} does not recover in viem`)
  }
  t.pass('signatures through the store recover in viem')
})

t.test('two stores on one token share the module; close waits for queued signatures', async (t) => {
  const first = await openPkcs11KeyStore(configFor({ label: 'second' }), { env: ENV })
  const second = await openKeyStore(configFor({ label: 'second' }), { env: ENV })
  t.ok(second instanceof Pkcs11KeyStore, 'openKeyStore dispatches on kind')
  const key = await first.generate('shared')
  const a = await first.open('shared')
  const b = await second.open('shared')
  t.equal(b.address, key.address, 'the second store sees the first one’s key')
  const digests = Array.from({ length: 12 }, (_, i) => digestOf(200 + i))
  const pending = digests.map((d, i) => (i % 2 === 0 ? a : b).signDigest(d))
  const closing = first.close()
  const signatures = await Promise.all(pending)
  await closing
  t.ok(
    signatures.every((s, i) => verifyDigest(digests[i] as Hex, s, key.address)),
    'signatures queued before close() all completed and verify',
  )
  t.equal((await rejection(a.signDigest(digestOf(1)))).code, 'CW_KEY_STORE_CLOSED', 'the closed store’s signer stops')
  t.ok(verifyDigest(digestOf(2), await b.signDigest(digestOf(2)), key.address), 'the other store keeps working')
  await second.close()
})

t.test('a slot id selects the token; an invalid one is TokenNotFoundError with its return code', async (t) => {
  const slotId = await withSession('second', (module) => {
    const { pkcs11 } = module
    const slot = pkcs11.C_GetSlotList(true).find((s) => pkcs11.C_GetTokenInfo(s).label.trimEnd() === 'second')
    return Number(slot?.readBigUInt64LE() ?? -1n)
  })
  const bySlot = await openPkcs11KeyStore(configFor({ slot: slotId }), { env: ENV })
  t.ok((await bySlot.list()).some((k) => k.label === 'guarded'), 'the store by slot id sees the token’s keys')
  await bySlot.close()
  const error = await rejection(openPkcs11KeyStore(configFor({ slot: 987654 }), { env: ENV }))
  t.equal(error.code, 'CW_PKCS11_TOKEN_NOT_FOUND')
  t.equal(error.name, 'TokenNotFoundError')
  t.match(error.details, { rc: 3, rcName: 'CKR_SLOT_ID_INVALID', token: 'in slot 987654' })
})

t.test('a missing token is TokenNotFoundError', async (t) => {
  const error = await rejection(openPkcs11KeyStore(configFor({ label: 'no-such-token' }), { env: ENV }))
  t.equal(error.code, 'CW_PKCS11_TOKEN_NOT_FOUND')
  t.match(error.details, { token: 'labelled "no-such-token"' })
})

t.test('a wrong PIN is PinIncorrectError with CKR_PIN_INCORRECT, and the PIN is never logged', async (t) => {
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
  const wrongPin = '999999'
  const error = await rejection(openPkcs11KeyStore(configFor({ label: 'errors' }), { env: { CW_TEST_PIN: wrongPin }, logger }))
  t.equal(error.code, 'CW_PKCS11_PIN_INCORRECT')
  t.equal(error.name, 'PinIncorrectError')
  t.match(error.details, { rc: 0xa0, rcName: 'CKR_PIN_INCORRECT', method: 'C_Login' })
  t.notMatch(`${String(error.message)} ${JSON.stringify(error.details)}`, wrongPin, 'the PIN is not in the error')
  const store = await openPkcs11KeyStore(configFor({ label: 'errors' }), { env: ENV, logger })
  await store.generate('after-wrong-pin')
  await store.close()
  t.ok(lines.length > 0, 'the store logged')
  t.notOk(lines.some((line) => line.includes(PIN) || line.includes(wrongPin)), 'no PIN in any log line')
})

t.test('a missing key label is KeyNotFoundError naming the token', async (t) => {
  const store = await openPkcs11KeyStore(configFor({ label: 'errors' }), { env: ENV })
  t.teardown(() => store.close())
  const error = await rejection(store.open('never-made'))
  t.equal(error.code, 'CW_KEY_NOT_FOUND')
  t.match(error.details, { store: 'pkcs11', label: 'never-made', token: 'labelled "errors"' })
})

t.test('a module that does not load is Pkcs11LoadError', async (t) => {
  const error = await rejection(openPkcs11KeyStore({ ...configFor({ label: 'errors' }), module: hsm.config }, { env: ENV }))
  t.equal(error.code, 'CW_PKCS11_LOAD')
  t.match(error.details, { module: hsm.config })
})

t.test('PIN sources and configuration are checked', async (t) => {
  const unset = await rejection(openPkcs11KeyStore(configFor({ label: 'errors' }), { env: {} }))
  t.match(unset, { code: 'CW_SECRET_UNAVAILABLE', details: { secret: 'PIN', source: 'env', name: 'CW_TEST_PIN' } })
  const cases: [unknown, string][] = [
    [{ ...configFor({ label: 'errors' }), module: '' }, 'keyStore.module'],
    [{ ...configFor({ label: 'errors' }), token: {} }, 'keyStore.token'],
    [{ ...configFor({ label: 'x'.repeat(33) }) }, 'keyStore.token'],
    [{ ...configFor({ slot: -1 }) }, 'keyStore.token'],
    [{ ...configFor({ label: 'errors' }), pin: '1234' }, 'keyStore.pin'],
  ]
  for (const [config, field] of cases) {
    const error = await rejection(openPkcs11KeyStore(config, { env: ENV }))
    t.equal(error.code, 'CW_INVALID_ARGUMENT', field)
    t.match((error.details as { field: string }).field, field)
  }
})

t.test('EC points and signatures in every form a token may use', async (t) => {
  const store = await openPkcs11KeyStore(configFor({ label: 'errors' }), { env: ENV })
  t.teardown(() => store.close())
  const key = await store.generate('forms')
  const point = Buffer.from(key.publicKey.slice(2), 'hex')
  const compressed = Buffer.from([point[64]! % 2 === 0 ? 2 : 3, ...point.subarray(1, 33)])
  t.equal(decodeEcPoint(Buffer.concat([Buffer.from([4, 65]), point])), key.publicKey, 'DER OCTET STRING')
  t.equal(decodeEcPoint(point), key.publicKey, 'bare uncompressed point')
  t.equal(decodeEcPoint(compressed), key.publicKey, 'bare compressed point')
  t.equal(decodeEcPoint(Buffer.concat([Buffer.from([4, 33]), compressed])), key.publicKey, 'DER compressed point')
  for (const bad of [Buffer.alloc(0), Buffer.alloc(65), Buffer.concat([Buffer.from([4, 64]), point.subarray(1)])]) {
    const error = (() => {
      try {
        decodeEcPoint(bad)
      } catch (e) {
        return e as { code?: unknown }
      }
      return {}
    })()
    t.equal(error.code, 'CW_KEY_FORMAT', `${bad.length} bytes refused`)
  }
  const digest = digestOf(300)
  const signature = parseSignature(await (await store.open('forms')).signDigest(digest))
  const r = Buffer.from(signature.compact.subarray(0, 32))
  const highS = Buffer.from((SECP256K1_N - signature.s).toString(16).padStart(64, '0'), 'hex')
  const fromHigh = toRecoverableSignature(Buffer.concat([r, highS]), digest, key.address)
  t.ok(parseSignature(fromHigh).s <= SECP256K1_HALF_N && verifyDigest(digest, fromHigh, key.address), 'a high-S input comes out low-S and valid')
  const derOf = (n: Buffer) => (n[0]! >= 0x80 ? Buffer.concat([Buffer.from([2, 33, 0]), n]) : Buffer.concat([Buffer.from([2, 32]), n]))
  const der = Buffer.concat([derOf(r), derOf(highS)])
  t.ok(verifyDigest(digest, toRecoverableSignature(Buffer.concat([Buffer.from([0x30, der.length]), der]), digest, key.address), key.address), 'a DER signature is accepted')
  t.throws(() => toRecoverableSignature(Buffer.alloc(64), digest, key.address), { code: 'CW_SIGNATURE_FORMAT' }, 'zeros are refused')
  t.throws(() => toRecoverableSignature(Buffer.alloc(10, 1), digest, key.address), { code: 'CW_SIGNATURE_FORMAT' }, 'garbage is refused')
  t.throws(
    () => toRecoverableSignature(Buffer.concat([r, highS]), digest, '0x0000000000000000000000000000000000000001'),
    { code: 'CW_SIGNER_MISMATCH' },
    'a signature of another key is refused',
  )
})
