import t from 'tap'
import fc from 'fast-check'
import { TypedDataEncoder } from 'ethers'
import { bytesToHex, hexToBytes, recoverAddress, type Hex } from 'viem'
import {
  EIP712_TYPES,
  InvalidArgumentError,
  MESSAGE_KINDS,
  SECP256K1_N,
  SignatureFormatError,
  SignerMismatchError,
  createMemorySigner,
  fleetDomain,
  hashMessage,
  signMessage,
  signUpdateAttestation,
  verifyDeviceCertificate,
  verifyMessage,
  verifyUpdateAttestation,
  type FleetDomain,
  type MessageKind,
  type MessageOf,
} from '../../protocols/index.js'
import { MESSAGE_ARBITRARIES, domain as domainArb, exampleMessage, withSigner } from '../helpers/arbitraries.js'

const RANDOM_INSTANCES = 250

/** The second, independent EIP-712 implementation: ethers' TypedDataEncoder. */
const ethersDigest = <K extends MessageKind>(kind: K, domain: FleetDomain, message: MessageOf<K>): string =>
  TypedDataEncoder.hash(domain, { [kind]: EIP712_TYPES[kind].map((f) => ({ ...f })) }, message)

const domain = fleetDomain({ chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' })
const owner = createMemorySigner({ privateKey: `0x${'01'.repeat(32)}` })
const device = createMemorySigner({ privateKey: `0x${'02'.repeat(32)}` })

for (const kind of MESSAGE_KINDS) {
  t.test(`${kind}: digest equals ethers' TypedDataEncoder`, async (t) => {
    const fixed = exampleMessage(kind, device.address)
    t.equal(hashMessage(kind, domain, fixed), ethersDigest(kind, domain, fixed), 'fixed example')
    let checked = 0
    fc.assert(
      fc.property(domainArb(), MESSAGE_ARBITRARIES[kind](), (d, m) => {
        checked++
        return hashMessage(kind, d, m) === ethersDigest(kind, d, m)
      }),
      { numRuns: RANDOM_INSTANCES },
    )
    t.equal(checked, RANDOM_INSTANCES, `${RANDOM_INSTANCES} random instances agree`)
  })

  t.test(`${kind}: sign, recover and verify`, async (t) => {
    const signer = kind === 'DeviceCertificate' ? owner : device
    const message = withSigner(kind, exampleMessage(kind, device.address), signer.address)
    const signed = await signMessage(kind, { domain, message, signer })
    const digest = hashMessage(kind, domain, message)
    t.equal(await recoverAddress({ hash: digest, signature: signed.signature }), signer.address, "viem's recoverAddress gives the signer")
    t.ok(verifyMessage(kind, { domain, message, signature: signed.signature, signer: signer.address }), 'verifies')

    // Tampering with any field makes verification fail.
    const arbitrary = MESSAGE_ARBITRARIES[kind]()
    const other = fc.sample(arbitrary as fc.Arbitrary<unknown>, { numRuns: 1, seed: 7 })[0] as Record<string, unknown>
    for (const { name } of EIP712_TYPES[kind]) {
      const original = (message as Record<string, unknown>)[name]
      let replacement = other[name]
      if (JSON.stringify(replacement, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) === JSON.stringify(original, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
        replacement = typeof original === 'boolean' ? !original : typeof original === 'bigint' ? original + 1n : replacement
      const tampered = { ...message, [name]: replacement } as typeof message
      t.notOk(verifyMessage(kind, { domain, message: tampered, signature: signed.signature, signer: signer.address }), `tampered ${name} fails`)
    }
    // Any other domain, and any flipped signature byte, fail too.
    t.notOk(verifyMessage(kind, { domain: { ...domain, chainId: 1 }, message, signature: signed.signature, signer: signer.address }), 'other chainId fails')
    t.notOk(
      verifyMessage(kind, { domain: { ...domain, verifyingContract: device.address }, message, signature: signed.signature, signer: signer.address }),
      'other verifyingContract fails',
    )
    const sig = hexToBytes(signed.signature)
    let flipsRejected = 0
    for (let i = 0; i < sig.length; i++) {
      const bad = sig.slice()
      bad[i] = (bad[i] ?? 0) ^ 0x01
      if (!verifyMessage(kind, { domain, message, signature: bytesToHex(bad), signer: signer.address })) flipsRejected++
    }
    t.equal(flipsRejected, sig.length, 'every flipped signature byte fails')
  })
}

t.test('high-S signatures are rejected, their low-S twins accepted', async (t) => {
  const message = exampleMessage('UpdateAttestation', device.address)
  const { signature } = await signUpdateAttestation({ domain, message, signer: device })
  const bytes = hexToBytes(signature)
  const s = BigInt(bytesToHex(bytes.subarray(32, 64)))
  const high = bytes.slice()
  high.set(hexToBytes(`0x${(SECP256K1_N - s).toString(16).padStart(64, '0')}`), 32)
  high[64] = bytes[64] === 27 ? 28 : 27
  const highHex = bytesToHex(high)
  t.equal(
    await recoverAddress({ hash: hashMessage('UpdateAttestation', domain, message), signature: highHex }),
    device.address,
    'the malleated signature is mathematically valid',
  )
  t.notOk(verifyUpdateAttestation({ domain, message, signature: highHex }), 'but verify refuses it')
  t.ok(verifyUpdateAttestation({ domain, message, signature }), 'the low-S original verifies')
  const badV = bytes.slice()
  badV[64] = 29
  t.notOk(verifyUpdateAttestation({ domain, message, signature: bytesToHex(badV) }), 'v = 29 is refused')
})

t.test('a forged signature and the wrong signer give false', async (t) => {
  const message = exampleMessage('UpdateAttestation', device.address)
  const forged = await signMessage('UpdateAttestation', { domain, message: withSigner('UpdateAttestation', message, owner.address), signer: owner })
  t.notOk(verifyUpdateAttestation({ domain, message, signature: forged.signature }), "another key's signature")
  const cert = exampleMessage('DeviceCertificate', device.address)
  const signedCert = await signMessage('DeviceCertificate', { domain, message: cert, signer: owner })
  t.ok(verifyDeviceCertificate({ domain, message: cert, signature: signedCert.signature, signer: owner.address }), 'owner verifies')
  t.notOk(verifyDeviceCertificate({ domain, message: cert, signature: signedCert.signature, signer: device.address }), 'not the device')
  t.notOk(
    verifyUpdateAttestation({ domain, message, signature: forged.signature, signer: owner.address }),
    'a signer that is not the named device gives false',
  )
})

t.test('malformed input throws typed errors', async (t) => {
  const message = exampleMessage('UpdateAttestation', device.address)
  const { signature } = await signUpdateAttestation({ domain, message, signer: device })
  t.throws(() => verifyUpdateAttestation({ domain, message, signature: '0x1234' }), SignatureFormatError)
  t.throws(() => verifyUpdateAttestation({ domain, message, signature: 'nothex' as Hex }), SignatureFormatError)
  t.throws(() => verifyUpdateAttestation({ domain, message, signature: new Uint8Array(64) }), { code: 'CW_SIGNATURE_FORMAT' })
  t.throws(() => verifyUpdateAttestation({ domain, message: { ...message, round: -1n }, signature }), {
    code: 'CW_INVALID_ARGUMENT',
    details: { field: 'message.round' },
  })
  t.throws(() => verifyUpdateAttestation({ domain, message: { ...message, fleet: '0x12' }, signature }), {
    code: 'CW_INVALID_ARGUMENT',
    details: { field: 'message.fleet' },
  })
  t.throws(() => verifyUpdateAttestation({ domain, message: { ...message, extra: 1 } as never, signature }), InvalidArgumentError)
  t.throws(() => verifyUpdateAttestation({ domain: { ...domain, name: 'Other' } as never, message, signature }), {
    code: 'CW_INVALID_ARGUMENT',
    details: { field: 'domain.name' },
  })
  t.throws(() => verifyDeviceCertificate({ domain, message: exampleMessage('DeviceCertificate', device.address), signature }), {
    code: 'CW_INVALID_ARGUMENT',
    details: { field: 'signer' },
  })
  t.throws(() => verifyUpdateAttestation({ domain, message, signature, signer: '0xnope' as never }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'signer' } })
  await t.rejects(
    signUpdateAttestation({ domain, message: withSigner('UpdateAttestation', message, owner.address), signer: device }),
    SignerMismatchError,
    'signing a message that names another signer',
  )
  t.throws(() => fleetDomain({ chainId: 0, verifyingContract: device.address }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'domain.chainId' } })
})
