import t from 'tap'
import fc from 'fast-check'
import { bytesToHex, type Hex } from 'viem'
import {
  DecodeError,
  MAX_MESSAGE_BYTES,
  MESSAGE_KINDS,
  MessageTooLargeError,
  createMemorySigner,
  decodeSigned,
  decodeSubmission,
  encodeSigned,
  encodeSubmission,
  encodeUpdate,
  fleetDomain,
  signMessage,
  type MessageKind,
  type Signed,
} from '../../protocols/index.js'
import * as proto from '../../protocols/wire/proto/messages.js'
import { MESSAGE_ARBITRARIES, exampleMessage, withSigner } from '../helpers/arbitraries.js'

const signature = (): fc.Arbitrary<Hex> => fc.uint8Array({ minLength: 65, maxLength: 65 }).map((b) => bytesToHex(b))
const signedArb = <K extends MessageKind>(kind: K): fc.Arbitrary<Signed<K>> =>
  fc.record({ message: MESSAGE_ARBITRARIES[kind](), signature: signature() })

const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)

for (const kind of MESSAGE_KINDS) {
  t.test(`${kind}: decode(encode(x)) = x`, async (t) => {
    let runs = 0
    fc.assert(
      fc.property(signedArb(kind), (signed) => {
        runs++
        const bytes = encodeSigned(kind, signed)
        const decoded = decodeSigned(kind, bytes)
        // Addresses come back checksummed, which is how the arbitraries make them too.
        return JSON.stringify(decoded, big) === JSON.stringify(signed, big)
      }),
      { numRuns: 300 },
    )
    t.equal(runs, 300, '300 random messages round-trip')
  })
}

t.test('decoding is strict and names the field', async (t) => {
  const signer = createMemorySigner()
  const domain = fleetDomain({ chainId: 1, verifyingContract: signer.address })
  const message = withSigner('UpdateAttestation', exampleMessage('UpdateAttestation', signer.address), signer.address)
  const signed = await signMessage('UpdateAttestation', { domain, message, signer })
  const bytes = encodeSigned('UpdateAttestation', signed)
  const wire = proto.UpdateAttestation.decode(bytes)

  t.throws(() => decodeSigned('UpdateAttestation', new Uint8Array(MAX_MESSAGE_BYTES.UpdateAttestation + 1)), MessageTooLargeError, 'over the cap')
  t.throws(() => decodeSigned('UpdateAttestation', bytes.subarray(0, bytes.length - 3)), { code: 'CW_DECODE', details: { field: 'bytes' } }, 'truncated')
  t.throws(() => decodeSigned('UpdateAttestation', 'abc' as never), { code: 'CW_DECODE' }, 'not bytes')

  const withUnknownField = new Uint8Array([...bytes, 0x98, 0x01, 0x01]) // field 19, varint 1
  t.throws(() => decodeSigned('UpdateAttestation', withUnknownField), { code: 'CW_DECODE', message: /canonical/ }, 'unknown field')
  const repeated = new Uint8Array([...bytes, ...proto.UpdateAttestation.encode({ ...wire, fleet: new Uint8Array(0), device: new Uint8Array(0), baseModel: new Uint8Array(0), updateHash: new Uint8Array(0), metricsHash: new Uint8Array(0), signature: new Uint8Array(0), sampleCount: 0n, time: 0n })])
  t.throws(() => decodeSigned('UpdateAttestation', repeated), { code: 'CW_DECODE' }, 'a field given twice')

  const cases: [string, Partial<typeof wire>][] = [
    ['device', { device: new Uint8Array(19) }],
    ['fleet', { fleet: new Uint8Array(31) }],
    ['baseModel', { baseModel: new Uint8Array(0) }],
    ['signature', { signature: new Uint8Array(64) }],
  ]
  for (const [field, change] of cases) {
    const bad = proto.UpdateAttestation.encode({ ...wire, ...change })
    t.throws(() => decodeSigned('UpdateAttestation', bad), { code: 'CW_DECODE', details: { field } }, `wrong ${field} length names ${field}`)
  }
  const cert = exampleMessage('DeviceCertificate', signer.address)
  const certWire = proto.DeviceCertificate.decode(encodeSigned('DeviceCertificate', { message: cert, signature: signed.signature }))
  t.throws(
    () => decodeSigned('DeviceCertificate', proto.DeviceCertificate.encode({ ...certWire, peerId: '' })),
    { code: 'CW_DECODE', details: { field: 'peerId' } },
    'an empty peer id',
  )
  t.throws(
    () => decodeSigned('DeviceCertificate', proto.DeviceCertificate.encode({ ...certWire, capabilities: Array.from({ length: 33 }, () => 'x') })),
    { code: 'CW_DECODE' },
    'too many capabilities',
  )
  t.throws(
    () => decodeSigned('DeviceCertificate', proto.DeviceCertificate.encode({ ...certWire, serial: 'x'.repeat(65) })),
    { code: 'CW_DECODE', details: { field: 'serial' } },
    'a serial over its cap',
  )
  t.throws(() => encodeSigned('UpdateAttestation', { message: { ...message, round: -1n }, signature: signed.signature }), {
    code: 'CW_INVALID_ARGUMENT',
    details: { field: 'message.round' },
  })
  t.ok(decodeSigned('UpdateAttestation', bytes) instanceof Object, 'the untouched bytes still decode')
  t.type(DecodeError.code, 'string')
})

t.test('an update submission round-trips and checks its parts', async (t) => {
  const device = createMemorySigner()
  const owner = createMemorySigner()
  const domain = fleetDomain({ chainId: 1, verifyingContract: owner.address })
  const attestation = await signMessage('UpdateAttestation', { domain, message: exampleMessage('UpdateAttestation', device.address), signer: device })
  const certificate = await signMessage('DeviceCertificate', { domain, message: exampleMessage('DeviceCertificate', device.address), signer: owner })
  const update = encodeUpdate([{ name: 'w', dtype: 'float32', shape: [3], data: new Float32Array([1, 2, 3]) }], { encoding: 'float32' })
  const bytes = encodeSubmission({ attestation, certificate, update })
  const back = decodeSubmission(bytes)
  t.same(back.attestation, attestation)
  t.same(back.certificate, certificate)
  t.same(Buffer.from(back.update), Buffer.from(update))
  const wire = proto.UpdateSubmission.decode(bytes)
  const { attestation: _a, ...withoutAttestation } = wire
  const { certificate: _c, ...withoutCertificate } = wire
  t.throws(() => decodeSubmission(proto.UpdateSubmission.encode(withoutAttestation)), { code: 'CW_DECODE', details: { field: 'attestation' } })
  t.throws(() => decodeSubmission(proto.UpdateSubmission.encode(withoutCertificate)), { code: 'CW_DECODE', details: { field: 'certificate' } })
  const badCert = { ...(wire.certificate as proto.DeviceCertificate), device: new Uint8Array(3) }
  t.throws(() => decodeSubmission(proto.UpdateSubmission.encode({ ...wire, certificate: badCert })), {
    code: 'CW_DECODE',
    details: { type: 'DeviceCertificate', field: 'device' },
  })
  t.throws(() => decodeSubmission(new Uint8Array(MAX_MESSAGE_BYTES.UpdateSubmission + 1)), MessageTooLargeError)
})

t.test('uint64 fields round-trip at every boundary (protons-runtime writer fix)', async (t) => {
  const { varintLength } = await import('../../protocols/wire/uint64-writer.js')
  const boundaries = [0n, 1n, 127n, 128n, 2n ** 28n, 2n ** 31n - 1n, 2n ** 31n, 3_400_000_000n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 2n ** 31n, 2n ** 63n, 2n ** 64n - 1n]
  const signer = createMemorySigner()
  const domain = fleetDomain({ chainId: 1, verifyingContract: signer.address })
  for (const value of boundaries) {
    const certificate = { message: { ...exampleMessage('DeviceCertificate', signer.address), validFrom: value, validUntil: value }, signature: `0x${'11'.repeat(65)}` as Hex }
    const attestation = { message: { ...exampleMessage('UpdateAttestation', signer.address), round: value, time: value, sampleCount: value }, signature: `0x${'22'.repeat(65)}` as Hex }
    const cert = decodeSigned('DeviceCertificate', encodeSigned('DeviceCertificate', certificate))
    const back = decodeSubmission(encodeSubmission({ attestation, certificate, update: new Uint8Array([1, 2, 3]) }))
    const ok = cert.message.validUntil === value && back.attestation.message.time === value && back.certificate.message.validFrom === value
    if (!ok) t.fail(`${value} does not round-trip`)
  }
  t.pass(`${boundaries.length} boundary values round-trip through certificates and submissions`)
  t.same([0n, 127n, 128n, 2n ** 31n, 2n ** 64n - 1n].map(varintLength), [1, 1, 2, 5, 10], 'varint lengths')
  t.ok(domain.chainId === 1)
})
