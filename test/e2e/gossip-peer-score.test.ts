// Gossipsub peer scoring as configured (protocols/mesh/constants.ts: P4 weight −10 per invalid
// message², decay ×0.9 per second; graylist below −80), measured on real nodes on 127.0.0.1: how
// many forged round announcements it takes before the gateway ignores a sender, and for how long.
// A sender is graylisted when a valid message it publishes after the forgeries is not delivered.
// Gossipsub accepts a peer's RPCs for its first second (or 128 messages) once its score was ≥ 0,
// so the valid message is sent after that window.
import t, { type Test } from 'tap'
import { createMemorySigner, encodeSigned, signRoundAnnouncement } from '../../protocols/index.js'
import { encodeModelAvailability, type MeshNode } from '../../protocols/mesh/index.js'
import { keccak256, toHex, type Hex } from 'viem'
import { AcceptedStore, makeDevice, makeFleet, startAgent, startGateway, until } from '../protocols/mesh/fleet-fixture.js'

const WHITELIST_MS = 1_000
const fleet = makeFleet()
const gateway = await startGateway({ fleet, handler: new AcceptedStore().handler })
t.teardown(() => gateway.stop())
const gatewayAddr = gateway.multiaddrs[0]
if (gatewayAddr === undefined) throw new Error('gateway has no address')
const score = (peer: string): number => (gateway.libp2p.services.pubsub as unknown as { getScore(id: string): number }).getScore(peer)

/** Hashes of valid model availability messages the gateway delivered, by sender. */
const delivered = new Map<string, Set<Hex>>()
gateway.addEventListener('model', (evt) => {
  const { from, availability } = (evt as CustomEvent<{ from: { toString(): string }; availability: { hash: Hex } }>).detail
  const seen = delivered.get(from.toString()) ?? new Set<Hex>()
  seen.add(availability.hash.toLowerCase() as Hex)
  delivered.set(from.toString(), seen)
})

let counter = 0
/** Publishes a valid availability message from `node`; true when the gateway delivers it within `withinMs`. */
async function valid(node: MeshNode, withinMs = 1500): Promise<boolean> {
  const hash = keccak256(toHex(`model ${++counter}`))
  await node.libp2p.services.pubsub.publish(gateway.topics.models, encodeModelAvailability({ hash, size: 1 }))
  try {
    await until(() => delivered.get(node.peerId.toString())?.has(hash) === true, withinMs, 'delivery', 25)
    return true
  } catch {
    return false
  }
}

/** A fresh sender, connected and subscribed both ways. */
async function sender(): Promise<MeshNode> {
  const node = await startAgent(fleet, await makeDevice(fleet))
  await node.dial(gatewayAddr as never)
  await until(
    () =>
      gateway.libp2p.services.pubsub.getSubscribers(gateway.topics.rounds).some((p) => p.equals(node.peerId)) &&
      node.libp2p.services.pubsub.getSubscribers(gateway.topics.models).some((p) => p.equals(gateway.peerId)),
    10_000,
    'subscriptions',
  )
  return node
}

/** Forged announcements (signed by a key that is not a gateway's), each different. */
async function forge(node: MeshNode, n: number): Promise<void> {
  const stranger = createMemorySigner()
  for (let i = 0; i < n; i++) {
    const announcement = await signRoundAnnouncement({
      domain: fleet.domain,
      signer: stranger,
      message: {
        fleet: fleet.fleet,
        round: BigInt(++counter),
        gateway: stranger.address,
        baseModel: keccak256(toHex('base')),
        strategy: 'fedavg',
        params: '{}',
        deadline: 2_000_000_000n,
        selectionSeed: keccak256(toHex('seed')),
        selectionRule: '{"fraction":1,"max":10000,"min":1}',
        eligibleBlock: 1n,
        participantsRoot: keccak256(toHex('root')),
        privacy: '',
      },
    })
    await node.libp2p.services.pubsub.publish(gateway.topics.rounds, encodeSigned('RoundAnnouncement', announcement))
  }
}

interface Observation {
  minScore: number
  graylisted: boolean
  /** How long after the forgeries a valid message was delivered again (ms), when it was graylisted. */
  recoveredAfterMs?: number
}

async function observe(t: Test, forgeries: number): Promise<Observation> {
  const node = await sender()
  try {
    t.ok(await valid(node), 'before any forgery the sender\'s message is delivered')
    const started = Date.now()
    await forge(node, forgeries)
    let minScore = 0
    await until(
      () => {
        minScore = Math.min(minScore, score(node.peerId.toString()))
        return minScore <= -10 * forgeries * forgeries * 0.8
      },
      5000,
      'the forgeries to be scored',
      10,
    )
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + WHITELIST_MS + 100 - Date.now())))
    const graylisted = !(await valid(node))
    if (!graylisted) return { minScore, graylisted }
    while (!(await valid(node, 500))) if (Date.now() - started > 30_000) throw new Error('never recovered')
    return { minScore, graylisted, recoveredAfterMs: Date.now() - started }
  } finally {
    await node.stop()
  }
}

t.test('three forgeries do not graylist the sender', async (t) => {
  const seen = await observe(t, 3)
  t.comment(`3 forgeries: lowest score ${seen.minScore.toFixed(1)}; graylisted: ${seen.graylisted}`)
  t.ok(seen.minScore <= -72, 'its score fell below −72 (−90, less the decay since)')
  t.notOk(seen.graylisted, 'by the time gossipsub stops accepting its RPCs unconditionally, decay has lifted it above −80')
})

t.test('five forgeries graylist it, for a few seconds', async (t) => {
  const seen = await observe(t, 5)
  t.comment(`5 forgeries: lowest score ${seen.minScore.toFixed(1)}; graylisted: ${seen.graylisted}; delivered again after ${seen.recoveredAfterMs} ms`)
  t.ok(seen.graylisted, 'a valid message after the forgeries is ignored')
  // 5 · 0.9^t < √8 (the counter at which −10 · counter² rises above −80) for t > 5.4 s.
  t.ok((seen.recoveredAfterMs ?? 0) > 2_000 && (seen.recoveredAfterMs ?? Infinity) < 15_000, `and heard again once the penalty decays (${seen.recoveredAfterMs} ms)`)
})
