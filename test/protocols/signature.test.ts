import t from 'tap'
import { hexToBytes, keccak256, recoverAddress, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  InvalidArgumentError,
  SECP256K1_HALF_N,
  SECP256K1_N,
  SignatureFormatError,
  createMemorySigner,
  isCanonical,
  nobleCurvesBackend,
  nobleSecp256k1Backend,
  nativeBackend,
  parseSignature,
  recoverSigner,
  recoveryBackends,
  toEthereumSignature,
  verifyDigest,
  wasmBackend,
} from '../../protocols/index.js'

const digestOf = (i: number): Hex => keccak256(new TextEncoder().encode(`message ${i}`))

t.test('the memory signer matches viem and produces low-S signatures', async (t) => {
  const privateKey: Hex = `0x${'4c'.repeat(32)}`
  const signer = createMemorySigner({ privateKey })
  const account = privateKeyToAccount(privateKey)
  t.equal(signer.address, account.address, 'address is the checksummed address of the key')
  t.equal(signer.keyStorage, 'memory')
  for (let i = 0; i < 50; i++) {
    const digest = digestOf(i)
    const signature = await signer.signDigest(digest)
    // RFC 6979 makes signing deterministic, so viem must produce the very same bytes.
    const viemSignature = await account.sign({ hash: digest })
    if (signature !== viemSignature) t.fail(`signature ${i} differs from viem's`)
    const parts = parseSignature(signature)
    if (parts.s > SECP256K1_HALF_N) t.fail(`signature ${i} is high-S`)
    if ((await recoverAddress({ hash: digest, signature })) !== signer.address) t.fail(`signature ${i} does not recover`)
  }
  t.pass('50 signatures equal viem, are low-S and recover')
  await t.rejects(signer.signDigest('0x1234'), InvalidArgumentError, 'short digest')
  await t.rejects(signer.signDigest(digestOf(1), { signal: AbortSignal.abort() }), { name: 'AbortError' }, 'aborted')
  t.throws(() => createMemorySigner({ privateKey: '0x00' }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'privateKey' } })
  t.throws(() => createMemorySigner({ privateKey: `0x${'00'.repeat(32)}` }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'privateKey' } })
  t.throws(() => createMemorySigner({ privateKey: `0x${'ff'.repeat(32)}` }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'privateKey' } }, 'key >= n')
})

t.test('every recovery backend agrees with viem', async (t) => {
  t.ok(recoveryBackends.length >= 3, 'at least three backends load')
  t.ok(nativeBackend !== undefined, 'the native libsecp256k1 addon loads on this platform')
  const signer = createMemorySigner()
  for (let i = 0; i < 20; i++) {
    const digest = digestOf(i)
    const signature = await signer.signDigest(digest)
    for (const backend of [...recoveryBackends, wasmBackend, nobleCurvesBackend, nobleSecp256k1Backend]) {
      if (recoverSigner(digest, signature, backend) !== signer.address) t.fail(`${backend.name} disagrees on ${i}`)
      if (!verifyDigest(digest, signature, signer.address, backend)) t.fail(`${backend.name} does not verify ${i}`)
    }
  }
  t.pass('20 signatures recover to the signer in every backend')
  // r = 0 is never a valid signature; a point that does not exist recovers nothing.
  const bogus = toEthereumSignature(1n, 1n, 0)
  for (const backend of recoveryBackends) {
    const recovered = recoverSigner(digestOf(0), bogus, backend)
    t.not(recovered, signer.address, `${backend.name}: a made-up signature is not the signer's`)
  }
})

t.test('toEthereumSignature normalises high S and flips the recovery id', async (t) => {
  const signer = createMemorySigner()
  const digest = digestOf(99)
  const low = parseSignature(await signer.signDigest(digest))
  const fromHigh = toEthereumSignature(low.r, SECP256K1_N - low.s, low.recovery ^ 1)
  t.equal(fromHigh, toEthereumSignature(low.r, low.s, low.recovery), 'the high-S twin normalises to the same signature')
  t.equal(await recoverAddress({ hash: digest, signature: fromHigh }), signer.address)
  t.throws(() => toEthereumSignature(0n, 1n, 0), SignatureFormatError, 'r = 0')
  t.throws(() => toEthereumSignature(1n, SECP256K1_N, 0), SignatureFormatError, 's = n')
  t.throws(() => toEthereumSignature(1n, 1n, 2), SignatureFormatError, 'recovery id 2')
})

t.test('parseSignature and isCanonical', async (t) => {
  t.throws(() => parseSignature('0xzz' as Hex), { code: 'CW_SIGNATURE_FORMAT' })
  t.throws(() => parseSignature(`0x${'00'.repeat(64)}`), { code: 'CW_SIGNATURE_FORMAT' })
  t.throws(() => parseSignature(new Uint8Array(66)), { code: 'CW_SIGNATURE_FORMAT' })
  t.throws(() => parseSignature(42 as never), { code: 'CW_SIGNATURE_FORMAT' })
  const zero = new Uint8Array(65)
  zero[64] = 27
  t.notOk(isCanonical(parseSignature(zero)), 'r = s = 0 is not canonical')
  t.equal(recoverSigner(digestOf(1), zero), null, 'and recovers nothing')
  t.throws(() => recoverSigner('0x1234', zero), { code: 'CW_INVALID_ARGUMENT', details: { field: 'digest' } })
  const sig = hexToBytes(await createMemorySigner().signDigest(digestOf(3)))
  t.ok(isCanonical(parseSignature(sig)))
})
