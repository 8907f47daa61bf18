// The KeyStore conformance suite: the same behaviour asked of every backend (STYLE.md, after
// abstract-level's test suite). Each backend's test file calls `keyStoreConformance` with a
// factory; what a backend may do differently, it declares in `supports`.
import type tap from 'tap'
import { isAddress, keccak256, recoverAddress, toHex, type Hex } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { SECP256K1_HALF_N, parseSignature, verifyDigest } from '../../../protocols/index.js'
import type { KeyStore } from '../../../hardware/keys/index.js'

export type Tap = Parameters<Parameters<typeof tap.test>[0]>[0]

export interface KeyStoreFactory {
  /** A new, empty store. */
  create(): Promise<KeyStore>
  /** Another store on the same backing (directory, token) as the last one `create` made. */
  reopen(): Promise<KeyStore>
}

const digestOf = (i: number): Hex => keccak256(toHex(`conformance ${i}`))

/** Resolves to the rejection of `promise`, failing the test when it fulfils. */
async function rejection(t: Tap, promise: Promise<unknown>, what: string): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  t.fail(`${what}: expected a rejection`)
  return {}
}

export async function keyStoreConformance(t: Tap, factory: KeyStoreFactory): Promise<void> {
  await t.test('KeyStore conformance', async (t) => {
    const store = await factory.create()
    t.teardown(() => store.close())

    await t.test('declares what it supports', async (t) => {
      t.type(store.kind, 'string')
      t.ok(store.supports.curves.includes('secp256k1'), 'secp256k1 is supported')
      t.type(store.supports.extractable, 'boolean')
      t.type(store.supports.hardware, 'boolean')
      t.equal(store.supports.persistent, true, 'device keys must outlive the process')
      if (store.supports.hardware) t.equal(store.supports.extractable, false, 'a hardware key is not extractable')
      t.equal(store.status, 'open')
    })

    await t.test('a new store is empty', async (t) => {
      t.same(await store.list(), [])
    })

    const alpha = await store.generate('alpha')
    await t.test('generate returns the key it made', async (t) => {
      t.equal(alpha.label, 'alpha')
      t.ok(isAddress(alpha.address, { strict: true }), 'checksummed address')
      t.match(alpha.publicKey, /^0x04[0-9a-f]{128}$/, 'uncompressed public key')
      t.equal(publicKeyToAddress(alpha.publicKey), alpha.address, 'address derives from the public key')
      t.equal(await store.publicKey('alpha'), alpha.publicKey, 'publicKey() agrees')
    })

    await t.test('generate refuses a label that is taken, keeping the key', async (t) => {
      const error = await rejection(t, store.generate('alpha'), 'second generate')
      t.equal(error.code, 'CW_KEY_EXISTS')
      t.match(error.details, { label: 'alpha' })
      t.equal(await store.publicKey('alpha'), alpha.publicKey, 'the existing key is untouched')
    })

    const beta = await store.generate('beta')
    await t.test('list returns every key, sorted by label', async (t) => {
      t.not(beta.address, alpha.address, 'distinct keys')
      const keys = await store.list()
      t.same(
        keys.map((k) => k.label),
        ['alpha', 'beta'],
      )
      for (const key of keys) {
        const expected = key.label === 'alpha' ? alpha.address : beta.address
        if (key.address !== undefined) t.equal(key.address, expected, `${key.label} lists its address`)
      }
    })

    await t.test('open returns a Signer that makes low-S Ethereum signatures viem recovers', async (t) => {
      const signer = await store.open('alpha')
      t.equal(signer.address, alpha.address)
      t.equal(signer.publicKey, alpha.publicKey)
      t.equal(signer.label, 'alpha')
      t.equal(signer.keyStorage, store.kind, 'keyStorage names the backend')
      let bad = 0
      for (let i = 0; i < 24; i++) {
        const digest = digestOf(i)
        const signature = await signer.signDigest(digest)
        const parts = parseSignature(signature)
        const recovered = await recoverAddress({ hash: digest, signature })
        if (recovered !== alpha.address || parts.s > SECP256K1_HALF_N || (parts.recovery !== 0 && parts.recovery !== 1)) bad++
      }
      t.equal(bad, 0, '24 signatures recover to the address, low-S, v in {27, 28}')
    })

    await t.test('concurrent signatures on one key all verify', async (t) => {
      const signer = await store.open('beta')
      const digests = Array.from({ length: 16 }, (_, i) => digestOf(100 + i))
      const signatures = await Promise.all(digests.map((d) => signer.signDigest(d)))
      t.ok(
        signatures.every((s, i) => verifyDigest(digests[i] as Hex, s, beta.address)),
        '16 concurrent signatures verify',
      )
    })

    await t.test('a missing label is KeyNotFoundError', async (t) => {
      for (const [what, promise] of [
        ['open', store.open('missing')],
        ['publicKey', store.publicKey('missing')],
      ] as const) {
        const error = await rejection(t, promise, what)
        t.equal(error.code, 'CW_KEY_NOT_FOUND', what)
        t.match(error.details, { label: 'missing', store: store.kind })
      }
    })

    await t.test('bad labels are refused before the backend is asked', async (t) => {
      const labels: unknown[] = ['', '../escape', '.hidden', 'a'.repeat(41), 'with space', 'slash/inside', '-dash', 42, undefined]
      for (const label of labels) {
        for (const [what, call] of [
          ['generate', () => store.generate(label as string)],
          ['open', () => store.open(label as string)],
          ['publicKey', () => store.publicKey(label as string)],
        ] as const) {
          const error = await rejection(t, call(), `${what}(${JSON.stringify(label)})`)
          if (error.code !== 'CW_INVALID_ARGUMENT' || (error.details as { field?: unknown }).field !== 'label')
            t.fail(`${what}(${JSON.stringify(label)}) gave ${String(error.code)}`)
        }
      }
      t.same(
        (await store.list()).map((k) => k.label),
        ['alpha', 'beta'],
        'nothing was created',
      )
    })

    await t.test('bad digests are refused', async (t) => {
      const signer = await store.open('alpha')
      const digests: unknown[] = ['0x1234', `0x${'zz'.repeat(32)}`, 'ab'.repeat(32), `0x${'ab'.repeat(33)}`, new Uint8Array(32), null]
      for (const digest of digests) {
        const error = await rejection(t, signer.signDigest(digest as Hex), `signDigest(${String(digest)})`)
        t.equal(error.code, 'CW_INVALID_ARGUMENT')
        t.match(error.details, { field: 'digest' })
      }
    })

    await t.test('an aborted signal stops an operation before it starts', async (t) => {
      const signal = AbortSignal.abort()
      const signer = await store.open('alpha')
      for (const [what, promise] of [
        ['generate', store.generate('gamma', { signal })],
        ['list', store.list({ signal })],
        ['open', store.open('alpha', { signal })],
        ['publicKey', store.publicKey('alpha', { signal })],
        ['signDigest', signer.signDigest(digestOf(0), { signal })],
      ] as const) {
        const error = await rejection(t, promise, what)
        t.equal(error.name, 'AbortError', what)
      }
      t.same(
        (await store.list()).map((k) => k.label),
        ['alpha', 'beta'],
        'the aborted generate created nothing',
      )
    })

    await t.test('keys persist: another store on the same backing sees and uses them', async (t) => {
      const early = await store.open('alpha')
      await store.close()
      t.equal(store.status, 'closed')
      await store.close() // idempotent
      const again = await factory.reopen()
      t.teardown(() => again.close())
      t.same(
        (await again.list()).map((k) => k.label),
        ['alpha', 'beta'],
      )
      t.equal(await again.publicKey('beta'), beta.publicKey)
      const signer = await again.open('alpha')
      t.equal(signer.address, alpha.address)
      t.ok(verifyDigest(digestOf(7), await signer.signDigest(digestOf(7)), alpha.address), 'the reopened key signs')

      const closed = await rejection(t, early.signDigest(digestOf(1)), 'a signer of a closed store')
      t.equal(closed.code, 'CW_KEY_STORE_CLOSED', 'a signer stops with its store')
      for (const [what, promise] of [
        ['generate', store.generate('delta')],
        ['list', store.list()],
        ['open', store.open('alpha')],
        ['publicKey', store.publicKey('alpha')],
      ] as const) {
        const error = await rejection(t, promise, what)
        t.equal(error.code, 'CW_KEY_STORE_CLOSED', `${what} after close`)
      }
    })
  })
}
