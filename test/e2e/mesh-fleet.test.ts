// One gateway and 10 agents, real libp2p nodes on 127.0.0.1 TCP: announcements (and forgeries),
// a 10 MB model to every agent, a resumed transfer, a model from an agent's cache while the
// gateway is down, and updates with signed receipts.
import t from 'tap'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { keccak256, toHex, type Hex } from 'viem'
import {
  contentId,
  createMemorySigner,
  hashMessage,
  signRoundAnnouncement,
  verifyReceipt,
  type RoundAnnouncement,
  type Signed,
} from '../../protocols/index.js'
import { MemoryBlobStore, REASON_UPDATE_HASH_MISMATCH, type MeshNode } from '../../protocols/mesh/index.js'
import { LevelBlobStore } from '../../hardware/storage/level-blob-store.js'
import {
  AcceptedStore,
  makeDevice,
  makeFleet,
  makeSubmission,
  pseudoRandomBytes,
  startAgent,
  startGateway,
  until,
  type Device,
} from '../protocols/mesh/fleet-fixture.js'

const AGENTS = 10
const MB10 = 10 * 1024 * 1024

/** The gateway's model store, recording the offset of every read it serves. */
class RecordingStore extends MemoryBlobStore {
  readonly reads: { hash: Hex; offset: number }[] = []
  override read(hash: Hex, offset: number, chunkBytes: number, options = {}): AsyncGenerator<Uint8Array> {
    this.reads.push({ hash, offset })
    return super.read(hash, offset, chunkBytes, options)
  }
}

const fleet = makeFleet()
const accepted = new AcceptedStore()
const gatewayKey = await generateKeyPair('Ed25519')
const gatewayStore = new RecordingStore()
let gateway: MeshNode = await startGateway({
  fleet,
  privateKey: gatewayKey,
  modelStore: gatewayStore,
  handler: async (submission) => {
    if (submission.attestation.message.round === 99n) return { accepted: false, reason: 'round-closed' }
    return accepted.handler(submission)
  },
})
const dir = await mkdtemp(join(tmpdir(), 'cw-mesh-fleet-'))
const dbs: Level<string, unknown>[] = []
const devices: Device[] = []
const agents: MeshNode[] = []
for (let i = 0; i < AGENTS; i++) {
  const device = await makeDevice(fleet)
  // Two agents cache models in level, as a board does; the rest in memory.
  let modelStore = new MemoryBlobStore() as MemoryBlobStore | LevelBlobStore
  if (i < 2) {
    const db = new Level<string, unknown>(join(dir, `agent-${i}`))
    dbs.push(db)
    modelStore = new LevelBlobStore({ db })
  }
  devices.push(device)
  agents.push(await startAgent(fleet, device, { modelStore }))
}
const rogueNodes: MeshNode[] = []

t.teardown(async () => {
  await Promise.allSettled([gateway.stop(), ...agents.map((a) => a.stop()), ...rogueNodes.map((r) => r.stop())])
  await Promise.allSettled(dbs.map((db) => db.close()))
  await rm(dir, { recursive: true, force: true })
})

const gatewayAddr = gateway.multiaddrs[0]
if (gatewayAddr === undefined) throw new Error('gateway has no address')
const gatewayPort = Number(/\/tcp\/(\d+)/.exec(gatewayAddr.toString())?.[1])
await Promise.all(agents.map((a) => a.dial(gatewayAddr)))
await until(() => gateway.libp2p.services.pubsub.getSubscribers(gateway.topics.rounds).length === AGENTS, 10_000, 'all agents subscribed')

async function announcement(signer = fleet.gatewaySigner, round = 1n): Promise<Signed<'RoundAnnouncement'>> {
  const message: RoundAnnouncement = {
    fleet: fleet.fleet,
    round,
    gateway: signer.address,
    baseModel: keccak256(toHex('base')),
    strategy: 'fedavg',
    params: '{}',
    deadline: 2000000000n,
    selectionSeed: `0x${'5e'.repeat(32)}`, selectionRule: '{"fraction":1,"max":10000,"min":1}', eligibleBlock: 0n, participantsRoot: `0x${'9a'.repeat(32)}`, privacy: '',
  }
  return signRoundAnnouncement({ domain: fleet.domain, signer, message })
}

function collectAnnouncements(): { rounds: bigint[][]; detach: () => void } {
  const rounds: bigint[][] = agents.map(() => [])
  const listeners = agents.map((agent, i) => {
    const listener = (evt: Event): void => {
      rounds[i]?.push((evt as CustomEvent<{ announcement: Signed<'RoundAnnouncement'> }>).detail.announcement.message.round)
    }
    agent.addEventListener('announcement', listener)
    return listener
  })
  return { rounds, detach: () => agents.forEach((a, i) => a.removeEventListener('announcement', listeners[i] as (evt: Event) => void)) }
}

t.test('a gateway announcement reaches all 10 agents; forged ones reach none', async (t) => {
  // A rogue node, connected to every agent, publishes forgeries alongside the real announcement.
  const rogueDevice = await makeDevice(fleet)
  const rogue = await startAgent(fleet, rogueDevice)
  rogueNodes.push(rogue)
  await Promise.all(agents.map((a) => rogue.dial(a.multiaddrs[0] as never)))
  await until(() => agents.every((a) => a.libp2p.services.pubsub.getSubscribers(a.topics.rounds).some((p) => p.equals(rogue.peerId))), 10_000, 'rogue subscribed')

  const { rounds, detach } = collectAnnouncements()
  const stranger = createMemorySigner()
  // 1: signed by a key that is not an authorised gateway.
  await rogue.publishAnnouncement(await announcement(stranger, 666n))
  // 2: names the real gateway but is signed by another key.
  const real = await announcement(fleet.gatewaySigner, 667n)
  const digest = hashMessage('RoundAnnouncement', fleet.domain, real.message)
  await rogue.publishAnnouncement({ message: real.message, signature: await stranger.signDigest(digest) })
  // 3: for another fleet, signed by the real gateway.
  const other = await signRoundAnnouncement({ domain: fleet.domain, signer: fleet.gatewaySigner, message: { ...real.message, fleet: keccak256(toHex('other')), round: 668n } })
  await rogue.publishAnnouncement(other)

  const recipients = await gateway.publishAnnouncement(await announcement(fleet.gatewaySigner, 1n))
  t.equal(recipients, AGENTS, 'published to every agent')
  await until(() => rounds.every((r) => r.includes(1n)), 10_000, 'the announcement at every agent')
  // Give forgeries the same time again to arrive, had they been forwarded.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  detach()
  t.same(rounds.map((r) => r.filter((round) => round === 1n).length), Array(AGENTS).fill(1), 'each agent got the announcement once')
  t.same(rounds.flat().filter((round) => round !== 1n), [], 'no forged announcement was delivered anywhere')
  // The validation hook answered Reject: gossipsub penalised the rogue (P4) at the agents.
  // getScore lives on the GossipSub class, not on the interface the factory returns.
  const scoreOf = (a: MeshNode): number => (a.libp2p.services.pubsub as unknown as { getScore(id: string): number }).getScore(rogue.peerId.toString())
  const scores = agents.map(scoreOf)
  t.ok(scores.every((score) => score < 0), `the rogue's score is negative at every agent (${scores.map((s) => s.toFixed(0)).join(' ')})`)
  await rogue.stop()
})

t.test('a 10 MB model reaches all agents, hashes checked', async (t) => {
  const model = pseudoRandomBytes(MB10, 7)
  const hash = contentId(model)
  await gateway.models.store.put(hash, model)
  const done = agents.map(
    (agent) =>
      new Promise<void>((resolve, reject) => {
        agent.addEventListener('model', (evt) => {
          const { availability } = (evt as CustomEvent<{ availability: { hash: Hex } }>).detail
          if (availability.hash === hash) agent.fetchModel(hash).then(() => resolve(), reject)
        }, { once: true })
      }),
  )
  t.equal(await gateway.announceModel(hash), AGENTS, 'availability announced on the models topic')
  await Promise.all(done)
  for (const [i, agent] of agents.entries()) {
    const bytes = await agent.models.store.get(hash)
    t.equal(contentId(bytes), hash, `agent ${i} holds the model and it hashes right`)
  }
})

t.test('a transfer cut halfway resumes from its offset', async (t) => {
  const model = pseudoRandomBytes(MB10, 8)
  const hash = contentId(model)
  await gateway.models.store.put(hash, model)
  const agent = agents[3] as MeshNode
  const controller = new AbortController()
  await t.rejects(
    agent.fetchModel(hash, { providers: [gateway.peerId], signal: controller.signal, onProgress: (received, size) => {
      if (received >= size / 2) controller.abort(new Error('cut'))
    } }),
    'the first transfer is cut',
  )
  const kept = await agent.models.store.partialSize(hash)
  t.ok(kept >= MB10 / 2 && kept < MB10, `half the model is kept (${kept} bytes)`)
  t.notOk(await agent.models.store.has(hash), 'an incomplete blob is not served as held')
  gatewayStore.reads.length = 0
  const result = await agent.fetchModel(hash, { providers: [gateway.peerId] })
  t.equal(result.resumedFrom, kept, 'the second transfer starts where the first stopped')
  t.equal(result.transferred, MB10 - kept, 'only the missing bytes crossed the network')
  t.equal(gatewayStore.reads[0]?.offset, kept, 'the gateway was asked from that offset')
  t.ok(gatewayStore.reads.every((r) => r.hash === hash && r.offset >= kept), 'and never for bytes before it')
  t.equal(contentId(await agent.models.store.get(hash)), hash, 'the resumed blob hashes right')
})

t.test('updates are submitted and receipted', async (t) => {
  const submissions = await Promise.all(devices.map((d) => makeSubmission(fleet, d)))
  const receipts = await Promise.all(agents.map((a, i) => a.submitUpdate(gateway.peerId, submissions[i] as never)))
  for (const [i, receipt] of receipts.entries()) {
    const s = submissions[i]
    if (s === undefined) throw new Error('missing submission')
    t.ok(receipt.message.accepted && receipt.message.attestationHash === s.attestationHash, `agent ${i}: accepted, for its attestation`)
    t.ok(verifyReceipt({ domain: fleet.domain, message: receipt.message, signature: receipt.signature }), `agent ${i}: signed by the gateway`)
  }
  t.equal(accepted.accepted.size, AGENTS, 'the gateway store holds each update')
  // A resend is idempotent: same receipt, nothing stored twice.
  const again = await (agents[0] as MeshNode).submitUpdate(gateway.peerId, submissions[0] as never)
  t.ok(again.message.accepted, 'a resend is accepted again')
  t.equal(accepted.accepted.size, AGENTS, 'and not stored twice')

  const closed = await makeSubmission(fleet, devices[1] as Device, 99n)
  const rejected = await (agents[1] as MeshNode).submitUpdate(gateway.peerId, closed)
  t.same([rejected.message.accepted, rejected.message.reason], [false, 'round-closed'], "the handler's rejection comes back signed, with its reason")

  const tampered = await makeSubmission(fleet, devices[2] as Device)
  const mismatch = await (agents[2] as MeshNode).submitUpdate(gateway.peerId, { ...tampered, update: (await makeSubmission(fleet, devices[2] as Device)).update })
  t.same([mismatch.message.accepted, mismatch.message.reason], [false, REASON_UPDATE_HASH_MISMATCH], 'update bytes that do not match the attestation are rejected')
})

t.test('a round record is fetched by hash over /counterweight/record/1.0.0', async (t) => {
  const record = new TextEncoder().encode(JSON.stringify({ round: 1, attestations: [] }))
  const hash = contentId(record)
  await gateway.records?.store.put(hash, record)
  const agent = agents[4] as MeshNode
  const result = await agent.fetchRecord(hash, { providers: [gateway.peerId] })
  t.equal(result.size, record.length)
  t.same(await agent.records?.store.get(hash), record, 'the record arrives whole')
  await t.rejects(agent.models.store.get(hash), { code: 'CW_BLOB_NOT_FOUND' }, 'records and models are kept apart')
})

t.test("with the gateway stopped, an agent gets the model from another agent's cache", async (t) => {
  const model = pseudoRandomBytes(3 * 1024 * 1024 + 17, 9)
  const hash = contentId(model)
  await gateway.models.store.put(hash, model)
  const holder = agents[0] as MeshNode // a level-backed cache
  const seeker = agents[9] as MeshNode
  await holder.fetchModel(hash, { providers: [gateway.peerId] })
  await gateway.stop()
  await seeker.dial(holder.multiaddrs[0] as never)
  await until(() => holder.libp2p.services.pubsub.getSubscribers(holder.topics.models).some((p) => p.equals(seeker.peerId)), 10_000, 'seeker subscribed at holder')
  await holder.announceModel(hash)
  await until(() => seeker.holdersOf(hash).includes(holder.peerId.toString()), 10_000, 'seeker learns the holder')
  const result = await seeker.fetchModel(hash)
  t.equal(result.size, model.length, 'fetched whole')
  t.equal(contentId(await seeker.models.store.get(hash)), hash, "the copy from the agent's cache hashes right")

  // The gateway comes back on the same key and port; agents reach it again.
  gateway = await startGateway({ fleet, privateKey: gatewayKey, port: gatewayPort, modelStore: gatewayStore, handler: accepted.handler })
  const receipt = await seeker.submitUpdate(gateway.peerId, await makeSubmission(fleet, devices[9] as Device))
  t.ok(receipt.message.accepted, 'after the restart the gateway answers again')
})
