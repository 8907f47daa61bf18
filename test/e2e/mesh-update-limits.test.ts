// The update protocol's limits on real libp2p nodes on 127.0.0.1: identity is checked from the
// frame's header before the update is read; unverified streams, verified streams and reserved
// bytes are capped across all peers; a peer over a cap is told to retry later (CW_MESH_BUSY with
// retryAfterMs); and every refusal before the handler is reported with its reason.
import t from 'tap'
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { keccak256, toHex } from 'viem'
import { contentId, createMemorySigner, encodeSubmission, encodeUpdate, namedTensor, signDeviceCertificate, signUpdateAttestation, type UpdateSubmission } from '../../protocols/index.js'
import { RemoteError } from '../../protocols/errors.js'
import { PROTOCOL_UPDATE } from '../../protocols/constants.js'
import { MESH_REFUSAL_REASONS, parseResponse, type MeshNode, type UpdateRefusal } from '../../protocols/mesh/index.js'
import { REJECTION_REASONS } from '../../gateway/verify/index.js'
import { AcceptedStore, makeDevice, makeFleet, makeSubmission, startAgent, startGateway, until, type Device } from '../protocols/mesh/fleet-fixture.js'

const MAX_UNVERIFIED = 4
const MAX_BUFFERED = 256 * 1024
const HEADER_TIMEOUT_MS = 1500

const fleet = makeFleet()
const store = new AcceptedStore()
const refusals: UpdateRefusal[] = []
let admitCalls = 0
/** Devices whose submissions the admit hook answers from the header: a receipt without the update. */
const notSelected = new Set<string>()
/** Devices the registry hook refuses, and devices whose handling fails inside the gateway. */
const refusedPeers = new Set<string>()
const failing = new Set<string>()
const gateway = await startGateway({
  fleet,
  handler: async (submission) => {
    if (failing.has(submission.attestation.message.device)) throw new Error('the store is unavailable')
    return store.handler(submission)
  },
  checkPeer: async ({ device }) => (refusedPeers.has(device) ? 'revoked' : undefined),
  limits: { maxUnverifiedUpdateStreams: MAX_UNVERIFIED, maxUpdateBufferedBytes: MAX_BUFFERED, updateHeaderTimeoutMs: HEADER_TIMEOUT_MS, updateTimeoutMs: 20_000 },
  admit: async (header) => {
    admitCalls++
    return notSelected.has(header.attestation.message.device) ? { accepted: false, reason: 'not-selected' } : undefined
  },
  onRefusal: (r) => refusals.push(r),
})
const honestDevice = await makeDevice(fleet)
const honest = await startAgent(fleet, honestDevice)
const attackerDevice = await makeDevice(fleet)
const attacker = await startAgent(fleet, attackerDevice)
t.teardown(async () => {
  await Promise.allSettled([gateway.stop(), honest.stop(), attacker.stop()])
})
const gatewayAddr = gateway.multiaddrs[0]
if (gatewayAddr === undefined) throw new Error('gateway has no address')
await Promise.all([honest, attacker].map((a) => a.dial(gatewayAddr)))

const counted = (reason: string): number => refusals.filter((r) => r.reason === reason).length

/** A signed submission from `device` carrying an update of `floats` float32 values. */
async function bigSubmission(device: Device, floats: number): Promise<UpdateSubmission> {
  const small = await makeSubmission(fleet, device)
  const update = encodeUpdate([namedTensor('w', 'float32', [floats], new Float32Array(floats).fill(0.5))], { encoding: 'float32' })
  const attestation = await signUpdateAttestation({ domain: fleet.domain, signer: device.signer, message: { ...small.attestation.message, updateHash: contentId(update) } })
  return { attestation, certificate: device.certificate, update }
}

/**
 * Writes `bytes` as one frame on a fresh stream from `node` and reads the answer while writing.
 * Returns the answer's error code (or 'receipt:<reason>') and whether the write had finished.
 */
async function send(node: MeshNode, bytes: Uint8Array): Promise<{ answer: string; writeDone: boolean; stream: Stream }> {
  const stream = await node.libp2p.dialProtocol(gateway.peerId, PROTOCOL_UPDATE)
  const lp = lpStream(stream, { maxDataLength: 4096 })
  let writeDone = false
  const writing = lp.write(bytes).then(
    () => {
      writeDone = true
    },
    () => undefined,
  )
  let answer: string
  try {
    const frame = (await lp.read({ signal: AbortSignal.timeout(15_000) })).subarray()
    const payload = parseResponse(PROTOCOL_UPDATE, frame)
    answer = `receipt:${payload.length > 0 ? 'ok' : 'empty'}`
  } catch (err) {
    answer = err instanceof RemoteError ? String(err.details.remoteCode) : `local:${(err as Error).name}`
  }
  const done = writeDone
  stream.abort(new Error('test done'))
  await writing
  return { answer, writeDone: done, stream }
}

t.test('reasons: the mesh layer counts under the verifier\'s names where they mean the same', async (t) => {
  for (const r of ['fleet-mismatch', 'certificate-invalid', 'certificate-expired', 'peer-unbound', 'signature-invalid', 'update-hash-mismatch'])
    t.ok(REJECTION_REASONS.includes(r as never) && MESH_REFUSAL_REASONS.includes(r as never), r)
})

t.test('an unbound peer is refused from the header, before its 8 MiB update is read', async (t) => {
  const stolen = encodeSubmission(await bigSubmission(honestDevice, 2 * 1024 * 1024))
  const before = counted('peer-unbound')
  const { answer, writeDone } = await send(attacker, stolen)
  t.equal(answer, 'CW_MESH_PEER_NOT_BOUND')
  t.notOk(writeDone, 'the refusal came while the 8 MiB were still being written')
  t.equal(counted('peer-unbound'), before + 1, 'counted as peer-unbound')
  t.equal(store.calls, 0, 'the handler never saw it')
})

t.test('a forged attestation signature is refused from the header: signature-invalid', async (t) => {
  const a = await bigSubmission(attackerDevice, 1024 * 1024)
  const b = await makeSubmission(fleet, attackerDevice)
  const { answer, writeDone } = await send(attacker, encodeSubmission({ ...a, attestation: { message: a.attestation.message, signature: b.attestation.signature } }))
  t.equal(answer, 'CW_MESH_BAD_SIGNATURE')
  t.notOk(writeDone, 'before the update was read')
  t.equal(counted('signature-invalid'), 1)
})

t.test('malformed, oversized and out-of-order frames', async (t) => {
  t.equal((await send(attacker, Uint8Array.from([0xff, 1, 2, 3]))).answer, 'CW_DECODE', 'a frame that is not a submission')
  t.equal(counted('submission-malformed'), 1)
  // The update first: not the canonical order, refused without reading on.
  const s = await makeSubmission(fleet, attackerDevice)
  const canonical = encodeSubmission(s)
  const updateFirst = new Uint8Array([0x1a, s.update.length, ...s.update, ...canonical.subarray(0, canonical.length - s.update.length - 2)])
  t.equal((await send(attacker, updateFirst)).answer, 'CW_DECODE', 'the update before the attestation')
  const stream = await attacker.libp2p.dialProtocol(gateway.peerId, PROTOCOL_UPDATE)
  const lp = lpStream(stream, { maxDataLength: 4096 })
  stream.send(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x20])) // 8 GiB announced
  let code = 'none'
  try {
    parseResponse(PROTOCOL_UPDATE, (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())
  } catch (err) {
    code = err instanceof RemoteError ? String(err.details.remoteCode) : String(err)
  }
  stream.abort(new Error('done'))
  t.equal(code, 'CW_MESH_FRAME_TOO_LARGE')
  t.equal(counted('frame-too-large'), 1)
})

t.test('a silent stream is cut off at the header time-out, sooner than the exchange time-out', async (t) => {
  const started = Date.now()
  const stream = await attacker.libp2p.dialProtocol(gateway.peerId, PROTOCOL_UPDATE)
  let code = 'none'
  try {
    parseResponse(PROTOCOL_UPDATE, (await lpStream(stream, { maxDataLength: 4096 }).read({ signal: AbortSignal.timeout(15_000) })).subarray())
  } catch (err) {
    code = err instanceof RemoteError ? String(err.details.remoteCode) : String(err)
  }
  stream.abort(new Error('done'))
  t.equal(code, 'CW_MESH_TIMEOUT')
  t.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms (header time-out ${HEADER_TIMEOUT_MS} ms)`)
  t.equal(counted('timeout'), 1)
})

t.test('silent streams hold every unverified slot: the oldest is evicted, the enrolled device is served', async (t) => {
  const peers = await Promise.all(Array.from({ length: 2 }, async () => startAgent(fleet, await makeDevice(fleet))))
  t.teardown(() => Promise.allSettled(peers.map((p) => p.stop())))
  await Promise.all(peers.map((p) => p.dial(gatewayAddr)))
  const silent = await Promise.all(Array.from({ length: MAX_UNVERIFIED }, (_, i) => (peers[i % 2] as MeshNode).libp2p.dialProtocol(gateway.peerId, PROTOCOL_UPDATE)))
  const replies = silent.map(async (s) => {
    try {
      parseResponse(PROTOCOL_UPDATE, (await lpStream(s, { maxDataLength: 4096 }).read({ signal: AbortSignal.timeout(10_000) })).subarray())
      return 'none'
    } catch (err) {
      return err instanceof RemoteError ? String(err.details.remoteCode) : `local:${(err as Error).name}`
    }
  })
  await until(() => (gateway.updates?.stats().unverified ?? 0) === MAX_UNVERIFIED, 5000, 'the silent streams to take every slot')
  const receipt = await honest.submitUpdate(gateway.peerId, await makeSubmission(fleet, honestDevice))
  t.ok(receipt.message.accepted, 'the enrolled device got its receipt')
  const codes = await Promise.all(replies)
  t.ok(codes.includes('CW_MESH_BUSY'), `the oldest silent stream was told the gateway is busy (${codes.join(', ')})`)
  t.ok(counted('busy') >= 1, 'and counted as busy')
  for (const s of silent) s.abort(new Error('done'))
})

t.test('over the reserved-bytes cap: CW_MESH_BUSY with retryAfterMs, counted; served once there is room', async (t) => {
  const big = await bigSubmission(attackerDevice, (MAX_BUFFERED / 4) * 2) // twice the cap
  const err = await attacker.submitUpdate(gateway.peerId, big).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof RemoteError, 'refused with an error frame')
  const remote = err as RemoteError
  t.equal(remote.details.remoteCode, 'CW_MESH_BUSY')
  t.type(remote.details.retryAfterMs, 'number', 'it says when to retry')
  t.equal(counted('busy') >= 1, true)
  t.equal(gateway.updates?.stats().bufferedBytes, 0, 'nothing stays reserved')
  const fits = await bigSubmission(attackerDevice, MAX_BUFFERED / 8)
  t.ok((await attacker.submitUpdate(gateway.peerId, fits)).message.accepted, 'an update that fits is taken')
})

t.test('another fleet and a wrong update hash get signed rejections, counted', async (t) => {
  const s = await makeSubmission(fleet, attackerDevice)
  const other = await signUpdateAttestation({ domain: fleet.domain, signer: attackerDevice.signer, message: { ...s.attestation.message, fleet: keccak256(toHex('other fleet')) } })
  const r1 = await attacker.submitUpdate(gateway.peerId, { ...s, attestation: other })
  t.same([r1.message.accepted, r1.message.reason], [false, 'fleet-mismatch'], 'one name for it everywhere')
  const r2 = await attacker.submitUpdate(gateway.peerId, { ...s, update: (await makeSubmission(fleet, attackerDevice)).update })
  t.same([r2.message.accepted, r2.message.reason], [false, 'update-hash-mismatch'])
  t.equal(counted('fleet-mismatch'), 1)
  t.equal(counted('update-hash-mismatch'), 1)
})

t.test('the admit hook answers from the header: a receipt before the update is read', async (t) => {
  notSelected.add(attackerDevice.signer.address)
  t.teardown(() => notSelected.delete(attackerDevice.signer.address))
  const calls = store.calls
  const big = encodeSubmission(await bigSubmission(attackerDevice, 2 * 1024 * 1024))
  const { answer, writeDone } = await send(attacker, big)
  t.equal(answer, 'receipt:ok', 'a receipt came back')
  t.notOk(writeDone, 'while the 8 MiB update was still being written')
  t.equal(store.calls, calls, 'the handler was not called')
  const receipt = await attacker.submitUpdate(gateway.peerId, await bigSubmission(attackerDevice, 1024 * 1024))
  t.same([receipt.message.accepted, receipt.message.reason], [false, 'not-selected'], 'submitUpdate takes the early receipt')
  t.ok(admitCalls > 0)
})

t.test('too many streams from one peer: too-many-streams', async (t) => {
  const held = await Promise.all(Array.from({ length: 4 }, () => attacker.libp2p.dialProtocol(gateway.peerId, PROTOCOL_UPDATE)))
  await until(() => (gateway.updates?.stats().unverified ?? 0) >= 4, 5000, 'the streams to be open')
  const { answer } = await send(attacker, encodeSubmission(await makeSubmission(fleet, attackerDevice)))
  t.equal(answer, 'CW_MESH_TOO_MANY_STREAMS')
  t.ok(counted('too-many-streams') >= 1)
  for (const s of held) s.abort(new Error('done'))
})

t.test('certificate failures, a refused peer, a truncated frame and a failing handler are counted', async (t) => {
  const certified = async (message: Partial<typeof attackerDevice.certificate.message>, signer = fleet.owner) =>
    encodeSubmission(await makeSubmission(fleet, { ...attackerDevice, certificate: await signDeviceCertificate({ domain: fleet.domain, signer, message: { ...attackerDevice.certificate.message, ...message } }) }))
  const cases: [string, Uint8Array, string][] = [
    ['certificate-invalid', await certified({}, createMemorySigner()), 'not signed by the fleet owner'],
    ['certificate-expired', await certified({ validUntil: 1n }), 'expired'],
    ['fleet-mismatch', await certified({ fleet: keccak256(toHex('another fleet')) }), "for another fleet"],
  ]
  for (const [reason, bytes, what] of cases) {
    const before = counted(reason)
    t.equal((await send(attacker, bytes)).answer, 'CW_MESH_PEER_NOT_BOUND', what)
    t.equal(counted(reason), before + 1, `counted as ${reason}`)
  }
  refusedPeers.add(attackerDevice.signer.address)
  t.equal((await send(attacker, encodeSubmission(await makeSubmission(fleet, attackerDevice)))).answer, 'CW_MESH_PEER_REJECTED', 'the registry hook refuses')
  refusedPeers.clear()
  t.equal(counted('peer-rejected'), 1)

  // The header, then the stream ends before the update.
  const whole = encodeSubmission(await makeSubmission(fleet, attackerDevice))
  const stream = await attacker.libp2p.dialProtocol(gateway.peerId, PROTOCOL_UPDATE)
  const lp = lpStream(stream, { maxDataLength: 4096 })
  stream.send(Uint8Array.from([...varintOf(whole.length), ...whole.subarray(0, whole.length - 8)]))
  await stream.close()
  let code = 'none'
  try {
    parseResponse(PROTOCOL_UPDATE, (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())
  } catch (err) {
    code = err instanceof RemoteError ? String(err.details.remoteCode) : String(err)
  }
  t.equal(code, 'CW_MESH_PROTOCOL', 'a frame cut short')
  t.ok(counted('protocol-error') >= 1)

  failing.add(attackerDevice.signer.address)
  const failed = await attacker.submitUpdate(gateway.peerId, await makeSubmission(fleet, attackerDevice)).then(
    () => 'receipt',
    (err: unknown) => (err instanceof RemoteError ? String(err.details.remoteCode) : String(err)),
  )
  failing.clear()
  t.equal(failed, 'CW_MESH_GATEWAY_ERROR', 'a failing handler answers with an error frame the device retries, without its cause')
  t.equal(counted('gateway-error'), 1)
})

t.test('with the default limits, a 24 MiB update from an enrolled device is read whole and accepted', async (t) => {
  const roomy = new AcceptedStore()
  const other = await startGateway({ fleet, handler: roomy.handler })
  t.teardown(() => other.stop())
  const addr = other.multiaddrs[0]
  if (addr === undefined) throw new Error('no address')
  await honest.dial(addr)
  const big = await bigSubmission(honestDevice, 6 * 1024 * 1024)
  const receipt = await honest.submitUpdate(other.peerId, big)
  t.ok(receipt.message.accepted, 'accepted')
  const kept = roomy.accepted.get(receipt.message.attestationHash)
  t.equal(kept?.update.length, big.update.length, 'every byte arrived')
  t.equal(kept === undefined ? '' : contentId(kept.update), contentId(big.update), 'and they are the update that was signed')
  t.same(other.updates?.stats().bufferedBytes, 0, 'its reservation is released')
})

t.test('nothing is left reserved or open', async (t) => {
  await until(() => {
    const s = gateway.updates?.stats()
    return s !== undefined && s.unverified === 0 && s.verified === 0 && s.bufferedBytes === 0
  }, 15_000, 'every stream to end')
  t.pass('every slot and byte released')
  t.ok(refusals.every((r) => MESH_REFUSAL_REASONS.includes(r.reason)), 'every refusal has a listed reason')
})

function varintOf(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}
