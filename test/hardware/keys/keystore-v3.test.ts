// Web3 Secret Storage v3 encoding on its own: the published test vector, round trips, and the
// bounds checked before any key derivation.
import t from 'tap'
import { decryptKeystoreJsonSync } from 'ethers'
import { bytesToHex, hexToBytes } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { decryptKeystoreV3, encryptKeystoreV3 } from '../../../hardware/keys/index.js'

// The Web3 Secret Storage Definition's test vectors (password "testpassword").
const VECTOR_KEY = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d'
const PBKDF2_VECTOR = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: { c: 262144, dklen: 32, prf: 'hmac-sha256', salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd' },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}
// N = 2^18 with r = 1 breaks RFC 7914's N < 2^(16·r); OpenSSL and noble both refuse to compute it.
const SCRYPT_VECTOR = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: { dklen: 32, n: 262144, r: 1, p: 8, salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19' },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}
const FAST = { n: 2 ** 10, r: 8, p: 1 }

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  return { code: 'DID_NOT_REJECT' }
}

t.test('the PBKDF2 test vector decrypts to its key', async (t) => {
  const { privateKey, address } = await decryptKeystoreV3(PBKDF2_VECTOR, 'testpassword')
  t.equal(bytesToHex(privateKey), VECTOR_KEY)
  t.equal(address, privateKeyToAddress(VECTOR_KEY))
  t.equal((await rejection(decryptKeystoreV3(PBKDF2_VECTOR, 'testpassworD'))).code, 'CW_KEY_FILE_DECRYPT')
})

t.test('the scrypt test vector is refused for breaking RFC 7914, before any work', async (t) => {
  const error = await rejection(decryptKeystoreV3(SCRYPT_VECTOR, 'testpassword'))
  t.equal(error.code, 'CW_KEY_FORMAT')
  t.match(error.details, { field: 'crypto.kdfparams.n' })
})

t.test('encrypt → decrypt round trip, and ethers reads what we write', async (t) => {
  const privateKey = hexToBytes(`0x${'4c'.repeat(32)}`)
  const json = await encryptKeystoreV3({ privateKey, password: 'pw', scrypt: FAST })
  t.equal(json.address, privateKeyToAddress(`0x${'4c'.repeat(32)}`).slice(2).toLowerCase())
  const decrypted = await decryptKeystoreV3(json, 'pw')
  t.same(decrypted.privateKey, privateKey)
  t.equal(decryptKeystoreJsonSync(JSON.stringify(json), 'pw').privateKey, `0x${'4c'.repeat(32)}`)
  const again = await encryptKeystoreV3({ privateKey, password: 'pw', scrypt: FAST })
  t.not(again.crypto.kdfparams.salt, json.crypto.kdfparams.salt, 'a fresh salt each time')
  t.not(again.crypto.cipherparams.iv, json.crypto.cipherparams.iv, 'a fresh IV each time')
  t.not(again.id, json.id, 'a fresh id each time')
})

t.test('0x-prefixed hex fields (some wallets write them) are accepted', async (t) => {
  const json = await encryptKeystoreV3({ privateKey: hexToBytes(`0x${'11'.repeat(32)}`), password: 'pw', scrypt: FAST })
  const prefixed = {
    ...json,
    address: `0x${json.address}`,
    crypto: { ...json.crypto, ciphertext: `0x${json.crypto.ciphertext}`, mac: `0x${json.crypto.mac}` },
  }
  t.equal(bytesToHex((await decryptKeystoreV3(prefixed, 'pw')).privateKey), `0x${'11'.repeat(32)}`)
})

t.test('encrypt refuses bad arguments', async (t) => {
  const good = hexToBytes(`0x${'4c'.repeat(32)}`)
  const cases: [Parameters<typeof encryptKeystoreV3>[0], string][] = [
    [{ privateKey: new Uint8Array(31), password: 'pw' }, 'privateKey'],
    [{ privateKey: new Uint8Array(32), password: 'pw' }, 'privateKey'], // zero is not a valid scalar
    [{ privateKey: good, password: '' }, 'password'],
    [{ privateKey: good, password: 'pw', scrypt: { n: 3, r: 8, p: 1 } }, 'scrypt.n'],
    [{ privateKey: good, password: 'pw', scrypt: { n: 1024, r: 8, p: 0 } }, 'scrypt.p'],
  ]
  for (const [parameters, field] of cases) {
    const error = await rejection(encryptKeystoreV3(parameters))
    t.equal(error.code, 'CW_INVALID_ARGUMENT', field)
    t.match(error.details, { field })
  }
})

t.test('non-object input is KeyFormatError', async (t) => {
  for (const input of [null, 'text', 42, [], {}]) {
    const error = await rejection(decryptKeystoreV3(input, 'pw'))
    t.equal(error.code, 'CW_KEY_FORMAT', JSON.stringify(input))
  }
})
