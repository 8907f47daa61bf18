import t from 'tap'
import type { Hex } from 'viem'
import {
  contentId,
  createMemorySigner,
  encodeUpdate,
  fleetDomain,
  signMessage,
  type MessageOf,
  type UpdateSubmission,
} from '../../../protocols/index.js'
import { InMemoryRegistry, REJECTION_REASONS, UpdateVerifier, type RejectionReason, type VerificationContext } from '../../../gateway/verify/index.js'

const NOW = 1_700_000_000
const owner = createMemorySigner()
const device = createMemorySigner()
const stranger = createMemorySigner()
const fleet: Hex = `0x${'f1'.repeat(32)}`
const baseModel: Hex = `0x${'ba'.repeat(32)}`
const domain = fleetDomain({ chainId: 31337, verifyingContract: owner.address })
const peerId = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'

const tensors = (scale = 0.1) => [{ name: 'w', dtype: 'float32' as const, shape: [2, 2], data: Float32Array.from([1, -1, 0.5, 0], (v) => v * scale) }]

interface Options {
  certificate?: Partial<MessageOf<'DeviceCertificate'>>
  attestation?: Partial<MessageOf<'UpdateAttestation'>>
  update?: Uint8Array
  certSigner?: typeof owner
  attSigner?: typeof device
}

async function submission(o: Options = {}): Promise<UpdateSubmission> {
  const update = o.update ?? encodeUpdate(tensors(), { encoding: 'float32' })
  const certificate = await signMessage('DeviceCertificate', {
    domain,
    signer: o.certSigner ?? owner,
    message: {
      device: device.address,
      peerId,
      fleet,
      hardwareModel: 'raspberrypi-5',
      keyStorage: 'pkcs11',
      capabilities: [],
      validFrom: BigInt(NOW - 1000),
      validUntil: BigInt(NOW + 1000),
      serial: 'S1',
      ...o.certificate,
    },
  })
  const message = {
    fleet,
    round: 3n,
    device: device.address,
    baseModel,
    updateHash: contentId(update),
    sampleCount: 100n,
    metricsHash: `0x${'00'.repeat(32)}` as Hex,
    time: BigInt(NOW - 10),
    ...o.attestation,
  }
  const signer = o.attSigner ?? device
  // A forged attestation: signed by another key but naming the device.
  const signed = await signMessage('UpdateAttestation', { domain, signer, message: { ...message, device: signer.address } })
  return { certificate, attestation: { message, signature: signed.signature }, update }
}

const registry = new InMemoryRegistry()
registry.register(device.address)
const accepted = new Set<Hex>()
const context = (over: Partial<VerificationContext> = {}): VerificationContext => ({
  domain,
  fleet,
  owner: owner.address,
  registry,
  round: { round: 3n, open: true, baseModel },
  model: [{ name: 'w', shape: [2, 2] }],
  limits: { maxNorm: 1, minSamples: 10, maxSamples: 10_000, maxAgeSeconds: 600, maxSkewSeconds: 30 },
  seen: async (h) => accepted.has(h),
  now: () => NOW,
  ...over,
})

t.test('a genuine submission is accepted', async (t) => {
  const verifier = new UpdateVerifier(() => context())
  const verdict = await verifier.verify(await submission(), peerId)
  t.ok(verdict.accepted, JSON.stringify(verdict))
  if (verdict.accepted) {
    t.equal(verdict.device, device.address)
    t.equal(verdict.update.tensors[0]?.name, 'w')
    t.ok(Math.abs(verdict.norm - 0.15) < 1e-6)
  }
  t.equal(verifier.stats().accepted, 1)
})

t.test('every rejection reason is provoked by a crafted submission', async (t) => {
  const revokedDevice = new InMemoryRegistry()
  revokedDevice.register(device.address)
  revokedDevice.revoke(device.address)
  const replayed = await submission()
  const replayedHash = (await new UpdateVerifier(() => context()).verify(replayed, peerId)) as { attestationHash: Hex }
  const cases: [RejectionReason, () => Promise<UpdateSubmission>, Partial<VerificationContext>, string?][] = [
    ['fleet-mismatch', () => submission({ attestation: { fleet: `0x${'00'.repeat(32)}` } }), {}],
    ['certificate-invalid', () => submission({ certSigner: stranger }), {}],
    ['certificate-invalid', () => submission({ certificate: { device: stranger.address } }), {}],
    ['certificate-expired', () => submission({ certificate: { validUntil: BigInt(NOW - 1) } }), {}],
    ['peer-unbound', () => submission(), {}, '12D3KooWSomeoneElse'],
    ['device-unregistered', () => submission(), { registry: new InMemoryRegistry() }],
    ['revoked', () => submission(), { registry: revokedDevice }],
    ['signature-invalid', () => submission({ attSigner: stranger }), {}],
    ['round-unknown', () => submission({ attestation: { round: 4n } }), {}],
    ['round-unknown', () => submission(), { round: undefined }],
    ['round-closed', () => submission({ attestation: { round: 2n } }), {}],
    ['round-closed', () => submission(), { round: { round: 3n, open: false, baseModel } }],
    ['base-model-mismatch', () => submission({ attestation: { baseModel: `0x${'00'.repeat(32)}` } }), {}],
    ['attestation-stale', () => submission({ attestation: { time: BigInt(NOW - 601) } }), {}],
    ['attestation-future', () => submission({ attestation: { time: BigInt(NOW + 31) } }), {}],
    ['replay', async () => replayed, { seen: async (h) => h === replayedHash.attestationHash }],
    ['update-hash-mismatch', async () => ({ ...(await submission()), update: encodeUpdate(tensors(0.2), { encoding: 'float32' }) }), {}],
    ['update-malformed', () => submission({ update: new Uint8Array([0x08, 0x09]) }), {}],
    ['update-shape', () => submission({ update: encodeUpdate([{ name: 'w', dtype: 'float32', shape: [4], data: new Float32Array(4) }], { encoding: 'float32' }) }), {}],
    ['update-norm', () => submission({ update: encodeUpdate(tensors(10), { encoding: 'float32' }) }), {}],
    ['sample-count', () => submission({ attestation: { sampleCount: 5n } }), {}],
    ['sample-count', () => submission({ attestation: { sampleCount: 10_001n } }), {}],
    ['sample-count', () => submission({ certificate: { capabilities: ['CPUExecutionProvider', 'max-samples:99'] } }), {}],
    ['sample-count', () => submission({ certificate: { capabilities: ['max-samples:lots'] } }), {}],
    ['not-selected', () => submission(), { round: { round: 3n, open: true, baseModel, participants: [stranger.address] } }],
  ]
  const verifier = new UpdateVerifier(() => context())
  for (const [reason, make, over, peer] of cases) {
    const verdict = await new UpdateVerifier(() => context(over)).verify(await make(), peer ?? peerId)
    t.match(verdict, { accepted: false, reason }, reason)
    if (Object.keys(over).length === 0) await verifier.verify(await make(), peer ?? peerId)
  }
  const covered = new Set(cases.map((c) => c[0]))
  t.same(REJECTION_REASONS.filter((r) => !covered.has(r)), [], 'every reason has a case')
  const stats = verifier.stats()
  t.equal(stats.rejected['sample-count'], 4, 'rejections are counted by reason')
  t.equal(stats.accepted, 0)
})

t.test('a certified sample bound and the selection let a conforming device through', async (t) => {
  const verifier = new UpdateVerifier(() => context({ round: { round: 3n, open: true, baseModel, participants: [stranger.address, device.address] } }))
  const verdict = await verifier.verify(await submission({ certificate: { capabilities: ['max-samples:100', 'max-samples:5000'] } }), peerId)
  t.ok(verdict.accepted, 'a claim at the smallest certified bound, from a selected device')
  const over = await verifier.verify(await submission({ certificate: { capabilities: ['max-samples:100', 'max-samples:5000'] }, attestation: { sampleCount: 101n } }), peerId)
  t.match(over, { accepted: false, reason: 'sample-count', detail: /allowed 10\.\.100 \(the certificate's bound\)/ }, 'the smallest bound counts')
})
