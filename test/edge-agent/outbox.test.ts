// The outbox against a scripted sender (this file) and against a real gateway over libp2p
// (test/e2e/mesh-outbox.test.ts): durability, idempotence, bounds, backoff, dead letters.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMemorySigner, decodeSubmission, encodeSubmission, hashMessage, signReceipt, type Signed, type Signer } from '../../protocols/index.js'
import { Outbox, backoffDelay, retryAfterOf, type OutboxSend } from '../../edge-agent/outbox/index.js'
import { RemoteError } from '../../protocols/errors.js'
import { PROTOCOL_UPDATE } from '../../protocols/constants.js'
import { makeDevice, makeFleet, makeSubmission, logger, until } from '../protocols/mesh/fleet-fixture.js'

const fleet = makeFleet()
const device = await makeDevice(fleet)
const dir = await mkdtemp(join(tmpdir(), 'cw-outbox-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
let n = 0
const location = (): string => join(dir, `db-${++n}`)

async function receiptFor(body: Uint8Array, accepted: boolean, reason = '', signer: Signer = fleet.gatewaySigner): Promise<Signed<'Receipt'>> {
  const { attestation } = decodeSubmission(body)
  return signReceipt({
    domain: fleet.domain,
    signer,
    message: {
      fleet: fleet.fleet,
      round: attestation.message.round,
      gateway: signer.address,
      device: attestation.message.device,
      attestationHash: hashMessage('UpdateAttestation', fleet.domain, attestation.message),
      accepted,
      reason: accepted ? '' : reason,
      time: 1n,
    },
  })
}

const open = (send: OutboxSend, extra: { maxBytes?: number; at?: string } = {}): Promise<Outbox> =>
  Outbox.open({
    location: extra.at ?? location(),
    domain: fleet.domain,
    gateways: [fleet.gatewaySigner.address],
    send,
    logger,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    ...(extra.maxBytes === undefined ? {} : { maxBytes: extra.maxBytes }),
  })

t.test('backoff doubles, is capped, and is jittered within [half, full]', async (t) => {
  const p = { baseMs: 100, maxMs: 1000 }
  t.same([1, 2, 3, 4, 5, 9].map((a) => backoffDelay(a, { ...p, random: () => 0.999999 })), [100, 200, 400, 800, 1000, 1000])
  t.same([1, 2, 3].map((a) => backoffDelay(a, { ...p, random: () => 0 })), [50, 100, 200])
})

t.test('enqueue is idempotent per attestation hash and refuses bad bytes', async (t) => {
  const outbox = await open(async () => {
    throw new Error('offline')
  })
  t.teardown(() => outbox.close())
  const s = await makeSubmission(fleet, device)
  const first = await outbox.enqueue(s)
  const again = await outbox.enqueue(encodeSubmission(s))
  t.same([first.added, again.added, first.attestationHash], [true, false, s.attestationHash])
  t.equal(outbox.pending().length, 1)
  await t.rejects(outbox.enqueue(Uint8Array.from([1, 2, 3])), { code: 'CW_DECODE' })
})

t.test('when full, new entries are refused and nothing held is dropped', async (t) => {
  const a = await makeSubmission(fleet, device)
  const size = encodeSubmission(a).length
  const outbox = await open(async () => {
    throw new Error('offline')
  }, { maxBytes: size * 2 + 10 })
  t.teardown(() => outbox.close())
  await outbox.enqueue(a)
  await outbox.enqueue(await makeSubmission(fleet, device))
  await t.rejects(outbox.enqueue(await makeSubmission(fleet, device)), { code: 'CW_OUTBOX_FULL' })
  t.equal(outbox.pending().length, 2, 'both earlier entries kept')
})

t.test('delivery: accepted removes, rejected dead-letters with its reason, invalid receipts retry', async (t) => {
  const stranger = createMemorySigner()
  const plan = new Map<string, (body: Uint8Array) => Promise<Signed<'Receipt'>>>()
  const calls = new Map<string, number>()
  const outbox = await open(async (body) => {
    const hash = hashMessage('UpdateAttestation', fleet.domain, decodeSubmission(body).attestation.message)
    calls.set(hash, (calls.get(hash) ?? 0) + 1)
    const step = plan.get(hash)
    if (step === undefined) throw new Error('no plan')
    return step(body)
  })
  t.teardown(() => outbox.close())
  const ok = await makeSubmission(fleet, device)
  const no = await makeSubmission(fleet, device)
  const flaky = await makeSubmission(fleet, device)
  const forged = await makeSubmission(fleet, device)
  plan.set(ok.attestationHash, (b) => receiptFor(b, true))
  plan.set(no.attestationHash, (b) => receiptFor(b, false, 'round-closed'))
  let failures = 0
  plan.set(flaky.attestationHash, async (b) => {
    if (++failures <= 2) throw new Error('gateway unreachable')
    return receiptFor(b, true)
  })
  plan.set(forged.attestationHash, (b) => receiptFor(b, true, '', stranger))
  for (const s of [ok, no, flaky, forged]) await outbox.enqueue(s)
  const bytesBefore = outbox.bytes
  outbox.start()
  await until(() => outbox.pending().length === 1 && (calls.get(forged.attestationHash) ?? 0) >= 3, 5000, 'deliveries to settle')
  await outbox.stop()
  t.same(outbox.pending().map((e) => e.attestationHash), [forged.attestationHash], "a receipt from a key that is not a gateway's completes nothing")
  t.ok((outbox.pending()[0]?.attempts ?? 0) >= 2, 'and it is retried with backoff')
  t.equal(calls.get(flaky.attestationHash), 3, 'a failing delivery is retried until it succeeds')
  t.equal(calls.get(ok.attestationHash), 1, 'an accepted entry is sent once')
  const dead = await outbox.deadLetters()
  t.same(dead.map((d) => [d.attestationHash, d.reason]), [[no.attestationHash, 'round-closed']], 'the rejected entry is a dead letter with its reason')
  t.ok(outbox.bytes < bytesBefore && outbox.bytes > 0, 'delivered bytes are freed; dead and pending ones still count')
})

t.test('a busy gateway (CW_MESH_BUSY with retryAfterMs) is retried no sooner than it asked', async (t) => {
  let calls = 0
  const delays: number[] = []
  const outbox = await open(async (body) => {
    if (++calls === 1) throw new RemoteError(PROTOCOL_UPDATE, 'CW_MESH_BUSY', 'at capacity', { details: { retryAfterMs: 400 } })
    return receiptFor(body, true)
  })
  t.teardown(() => outbox.close())
  outbox.addEventListener('retry', (evt) => delays.push((evt as CustomEvent<{ delayMs: number }>).detail.delayMs))
  await outbox.enqueue(await makeSubmission(fleet, device))
  const started = Date.now()
  outbox.start()
  await until(() => outbox.pending().length === 0, 5000, 'the retry to deliver')
  await outbox.stop()
  t.equal(calls, 2, 'retried once, then delivered')
  t.same(delays, [400], 'the wait is the gateway\'s retryAfterMs, not the 20..100 ms backoff')
  t.ok(Date.now() - started >= 400, 'and the second attempt came after it')
  t.equal(retryAfterOf(new RemoteError(PROTOCOL_UPDATE, 'CW_MESH_BUSY', 'x', { details: { retryAfterMs: 10 ** 9 } })), 5 * 60_000, 'capped at the backoff maximum')
  t.equal(retryAfterOf(new Error('offline')), 0, 'other errors carry no wait')
})

t.test('entries and dead letters survive a restart', async (t) => {
  const at = location()
  const no = await makeSubmission(fleet, device)
  const first = await open(async (b) => receiptFor(b, false, 'bad-shape'), { at })
  await first.enqueue(no)
  first.start()
  await until(async () => (await first.deadLetters()).length === 1, 5000, 'dead letter')
  const pendingOne = await makeSubmission(fleet, device)
  await first.stop()
  await first.enqueue(pendingOne)
  const bytes = first.bytes
  await first.close()
  const second = await open(async (b) => receiptFor(b, true), { at })
  t.teardown(() => second.close())
  t.same(second.pending().map((e) => e.attestationHash), [pendingOne.attestationHash], 'the pending entry is back')
  t.same((await second.deadLetters()).map((d) => d.reason), ['bad-shape'], 'so is the dead letter')
  t.equal(second.bytes, bytes, 'and the byte count')
  second.start()
  await until(() => second.pending().length === 0, 5000, 'delivery after restart')
  t.pass('delivered after the restart')
  t.ok(await second.removeDeadLetter(no.attestationHash), 'an operator can remove a dead letter')
  t.equal(second.bytes, 0, 'leaving the outbox empty')
})
