// The enrolment request's wire form and signatures: canonical JSON on one line that round-trips,
// a digest independent of key order, tampering and forgery detected, rotation endorsements, and
// strict decoding with the offending field named and the size checked first.
import t from 'tap'
import { keccak256, toHex, type Address } from 'viem'
import {
  canonicalJson,
  createMemorySigner,
  decodeEnrolmentRequest,
  encodeEnrolmentRequest,
  enrolmentRequestDigest,
  MAX_ENROLMENT_REQUEST_BYTES,
  signEnrolmentRequest,
  verifyEnrolmentRequest,
  type EnrolmentRequestBody,
} from '../../protocols/index.js'

const device = createMemorySigner()
const previous = createMemorySigner()
const body = (over: Partial<EnrolmentRequestBody> = {}): EnrolmentRequestBody => ({
  chainId: 31337,
  registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address,
  fleet: keccak256(toHex('fleet')),
  device: device.address,
  peerId: '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf',
  serial: 'SN-1',
  keyStorage: 'pkcs11',
  hardware: { board: { kind: 'generic', model: null }, cpu: { cores: 4, arch: 'x64' } },
  location: { keyLabel: 'device', transportKeyDir: '/var/lib/cw' },
  createdAt: 1_700_000_000,
  previous: null,
  ...over,
})

async function rejection(f: () => unknown): Promise<Record<string, unknown>> {
  try {
    await f()
  } catch (error) {
    return error as Record<string, unknown>
  }
  return { code: 'DID_NOT_THROW' }
}

t.test('canonical JSON sorts keys and refuses what JSON cannot hold', async (t) => {
  t.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: 2 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}')
  t.match(await rejection(() => canonicalJson({ a: Number.NaN })), { code: 'CW_INVALID_ARGUMENT', details: { field: 'value.a' } })
  t.match(await rejection(() => canonicalJson({ a: 1n })), { code: 'CW_INVALID_ARGUMENT' })
})

t.test('a signed request round-trips on one line and verifies', async (t) => {
  const request = await signEnrolmentRequest({ body: body(), signer: device })
  const wire = encodeEnrolmentRequest(request)
  const text = new TextDecoder().decode(wire)
  t.notMatch(text, /\n/, 'one line')
  t.same(decodeEnrolmentRequest(wire), request, 'round-trips')
  t.same(decodeEnrolmentRequest(`  ${text}\r\n`), request, 'surrounding whitespace (a console line) is ignored')
  t.same(verifyEnrolmentRequest(request), { valid: true, signature: true, endorsement: null })
  const reordered = body({ hardware: { cpu: { arch: 'x64', cores: 4 }, board: { model: null, kind: 'generic' } } })
  t.equal(enrolmentRequestDigest(reordered), enrolmentRequestDigest(body()), 'the digest does not depend on key order')
})

t.test('tampering and forgery are detected', async (t) => {
  const request = await signEnrolmentRequest({ body: body(), signer: device })
  for (const [field, value] of [
    ['serial', 'SN-2'],
    ['peerId', '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'],
    ['createdAt', 1_700_000_001],
    ['hardware', { board: { kind: 'jetson' } }],
    ['chainId', 1],
  ] as const)
    t.equal(verifyEnrolmentRequest({ ...request, [field]: value }).valid, false, `${field} changed after signing`)
  const forged = await signEnrolmentRequest({ body: body({ device: createMemorySigner().address }), signer: createMemorySigner() }).catch((e: unknown) => e)
  t.match(forged, { code: 'CW_SIGNER_MISMATCH' }, 'a key cannot sign for another device')
  const stolen = { ...request, signature: (await signEnrolmentRequest({ body: body({ device: previous.address }), signer: previous })).signature }
  t.equal(verifyEnrolmentRequest(stolen).signature, false, "another key's signature")
})

t.test('a rotation is endorsed by the previous key', async (t) => {
  const rotation = await signEnrolmentRequest({ body: body({ previous: previous.address }), signer: device, previousSigner: previous })
  t.same(verifyEnrolmentRequest(rotation), { valid: true, signature: true, endorsement: true })
  const badEndorsement = { ...rotation, endorsement: rotation.signature }
  t.same(verifyEnrolmentRequest(badEndorsement), { valid: false, signature: true, endorsement: false })
  t.match(await rejection(() => signEnrolmentRequest({ body: body({ previous: previous.address }), signer: device })), { code: 'CW_INVALID_ARGUMENT', details: { field: 'previousSigner' } })
  t.match(await rejection(() => decodeEnrolmentRequest(JSON.stringify({ ...rotation, endorsement: null }))), { code: 'CW_DECODE', details: { field: 'request.endorsement' } }, 'previous without endorsement')
})

t.test('strict decoding names the field; the size is checked first', async (t) => {
  const request = await signEnrolmentRequest({ body: body(), signer: device })
  t.match(await rejection(() => decodeEnrolmentRequest(JSON.stringify({ ...request, extra: 1 }))), { code: 'CW_DECODE', details: { field: 'request.extra' } })
  t.match(await rejection(() => decodeEnrolmentRequest(JSON.stringify({ ...request, device: '0x1234' }))), { code: 'CW_DECODE', details: { field: 'request.device' } })
  t.match(await rejection(() => decodeEnrolmentRequest(JSON.stringify({ ...request, version: 2 }))), { code: 'CW_DECODE', details: { field: 'request.version' } })
  t.match(await rejection(() => decodeEnrolmentRequest('[1]')), { code: 'CW_DECODE' })
  t.match(await rejection(() => decodeEnrolmentRequest(new Uint8Array([0xff, 0xfe]))), { code: 'CW_DECODE' }, 'not UTF-8')
  t.match(await rejection(() => decodeEnrolmentRequest(' '.repeat(10) + 'x'.repeat(MAX_ENROLMENT_REQUEST_BYTES + 1))), { code: 'CW_MESSAGE_TOO_LARGE' })
  const huge = { ...body(), hardware: { blob: 'x'.repeat(20 * 1024) } }
  t.match(await rejection(() => signEnrolmentRequest({ body: huge, signer: device })), { code: 'CW_INVALID_ARGUMENT', details: { field: 'request.hardware' } }, 'an oversized section')
})
