// Mesh benchmark. Prints a table and writes bench/results/mesh.json. In one run, on real libp2p
// nodes over 127.0.0.1 TCP (Noise, Yamux), all in this one process:
// - spreading a 1 MB and a 10 MB model to 10 and 25 agents, as a ratio to one 10 MB
//   single-stream transfer measured in the same run (the goal: ≤ 3× for 25 agents);
//   the gateway serves at most GATEWAY_BLOB_STREAMS streams at once, so agents that already hold
//   the model serve the rest (they announce it on the models topic); also reported: how many
//   copies the gateway itself uploaded;
// - update round trip (submit → verified signed receipt) p50 and p99, and updates/s accepted by
//   one gateway from 25 agents submitting concurrently.
import { loadavg } from 'node:os'
import { contentId } from '../protocols/index.js'
import { MemoryBlobStore, type MeshNode } from '../protocols/mesh/index.js'
import type { Hex } from 'viem'
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
} from '../test/protocols/mesh/fleet-fixture.js'
import { printTable, writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const MB = 1024 * 1024
const GATEWAY_BLOB_STREAMS = 4
const AGENT_PEERS = 4 // each agent also connects to this many others, as mDNS would on a LAN
const RTT_SAMPLES = quick ? 100 : 400
const THROUGHPUT_EACH = quick ? 10 : 40

class CountingStore extends MemoryBlobStore {
  served = 0
  override async *read(hash: Hex, offset: number, chunkBytes: number, options = {}): AsyncGenerator<Uint8Array> {
    for await (const chunk of super.read(hash, offset, chunkBytes, options)) {
      this.served += chunk.length
      yield chunk
    }
  }
}

interface Mesh {
  gateway: MeshNode
  gatewayStore: CountingStore
  agents: MeshNode[]
  devices: Device[]
  accepted: AcceptedStore
  fleet: ReturnType<typeof makeFleet>
}

async function startMesh(count: number): Promise<Mesh> {
  const fleet = makeFleet()
  const accepted = new AcceptedStore()
  const gatewayStore = new CountingStore()
  const gateway = await startGateway({ fleet, handler: accepted.handler, modelStore: gatewayStore, limits: { maxBlobStreamsTotal: GATEWAY_BLOB_STREAMS } })
  const devices: Device[] = []
  const agents: MeshNode[] = []
  for (let i = 0; i < count; i++) {
    const device = await makeDevice(fleet)
    devices.push(device)
    agents.push(await startAgent(fleet, device))
  }
  const addr = gateway.multiaddrs[0]
  if (addr === undefined) throw new Error('gateway has no address')
  await Promise.all(agents.map((a) => a.dial(addr)))
  for (const [i, agent] of agents.entries())
    for (let k = 1; k <= Math.min(AGENT_PEERS, count - 1); k++) await agent.dial((agents[(i + k) % count] as MeshNode).multiaddrs[0] as never)
  await until(() => gateway.libp2p.services.pubsub.getSubscribers(gateway.topics.models).length === count, 20_000, 'subscriptions').catch((err: unknown) => {
    throw new Error(`${String(err)}: ${gateway.libp2p.services.pubsub.getSubscribers(gateway.topics.models).length} of ${count} subscribed, ${gateway.libp2p.getPeers().length} connected`)
  })
  return { gateway, gatewayStore, agents, devices, accepted, fleet }
}

async function stopMesh(mesh: Mesh): Promise<void> {
  await Promise.allSettled([mesh.gateway.stop(), ...mesh.agents.map((a) => a.stop())])
}

/** Each agent fetches from known holders when it hears of the model, retries until it holds it, then announces it. */
async function spread(mesh: Mesh, size: number, seed: number): Promise<{ ms: number; gatewayCopies: number }> {
  const model = pseudoRandomBytes(size, seed)
  const hash = contentId(model)
  await mesh.gateway.models.store.put(hash, model)
  mesh.gatewayStore.served = 0
  const start = performance.now()
  const done = mesh.agents.map(async (agent) => {
    await until(() => agent.holdersOf(hash).length > 0, 30_000, 'first availability', 5)
    for (;;) {
      try {
        await agent.fetchModel(hash)
        break
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    await agent.announceModel(hash)
  })
  await mesh.gateway.announceModel(hash)
  await Promise.all(done)
  const ms = performance.now() - start
  for (const agent of mesh.agents) if (contentId(await agent.models.store.get(hash)) !== hash) throw new Error('hash mismatch')
  return { ms, gatewayCopies: mesh.gatewayStore.served / size }
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN

const rows: Row[] = []
// The machine may be shared: its load at the start says how far to trust the timings.
const extra: Record<string, unknown> = { gatewayBlobStreams: GATEWAY_BLOB_STREAMS, agentPeers: AGENT_PEERS, loadAverage1m: loadavg()[0] }

// Baseline: one 10 MB transfer over one stream, gateway to one agent.
{
  const mesh = await startMesh(1)
  const model = pseudoRandomBytes(10 * MB, 99)
  const hash = contentId(model)
  await mesh.gateway.models.store.put(hash, model)
  const agent = mesh.agents[0] as MeshNode
  // Warm-up on a different blob.
  const warm = pseudoRandomBytes(2 * MB, 98)
  await mesh.gateway.models.store.put(contentId(warm), warm)
  await agent.fetchModel(contentId(warm), { providers: [mesh.gateway.peerId] })
  const times: number[] = []
  for (let i = 0; i < 3; i++) {
    await agent.models.store.delete(hash)
    const start = performance.now()
    await agent.fetchModel(hash, { providers: [mesh.gateway.peerId] })
    times.push(performance.now() - start)
  }
  const baseline = times.sort((a, b) => a - b)[1] as number
  rows.push({ group: 'model spread', name: '10 MB → 1 agent (single stream)', value: baseline, unit: 'ms' })
  extra.singleStreamMBps = (10 * MB) / 1e6 / (baseline / 1000)
  await stopMesh(mesh)

  for (const count of [10, 25]) {
    const fleetMesh = await startMesh(count)
    for (const [label, size] of [['1 MB', MB], ['10 MB', 10 * MB]] as const) {
      const { ms, gatewayCopies } = await spread(fleetMesh, size, count * 10 + size / MB)
      rows.push({ group: 'model spread', name: `${label} → ${count} agents`, value: ms, unit: 'ms', baseline: '10 MB → 1 agent (single stream)', ratio: ms / baseline })
      rows.push({ group: 'gateway upload', name: `${label} → ${count} agents`, value: gatewayCopies, unit: 'model copies' })
    }
    await stopMesh(fleetMesh)
  }
}

// Updates: round trip, then throughput from 25 concurrent agents.
{
  const mesh = await startMesh(25)
  const { gateway, agents, devices, fleet } = mesh
  const submissions = await Promise.all(Array.from({ length: RTT_SAMPLES }, (_, i) => makeSubmission(fleet, devices[i % devices.length] as Device)))
  for (let i = 0; i < 20; i++) await (agents[0] as MeshNode).submitUpdate(gateway.peerId, await makeSubmission(fleet, devices[0] as Device))
  const rtts: number[] = []
  for (const [i, s] of submissions.entries()) {
    const start = performance.now()
    const receipt = await (agents[i % agents.length] as MeshNode).submitUpdate(gateway.peerId, s)
    rtts.push(performance.now() - start)
    if (!receipt.message.accepted) throw new Error('rejected')
  }
  rtts.sort((a, b) => a - b)
  rows.push({ group: 'update round trip', name: `p50 (${RTT_SAMPLES} sequential)`, value: percentile(rtts, 50), unit: 'ms' })
  rows.push({ group: 'update round trip', name: `p99 (${RTT_SAMPLES} sequential)`, value: percentile(rtts, 99), unit: 'ms' })

  const batches = await Promise.all(agents.map((_, i) => Promise.all(Array.from({ length: THROUGHPUT_EACH }, () => makeSubmission(fleet, devices[i] as Device)))))
  const before = mesh.accepted.accepted.size
  const start = performance.now()
  await Promise.all(
    agents.map(async (agent, i) => {
      for (const s of batches[i] ?? []) await agent.submitUpdate(gateway.peerId, s)
    }),
  )
  const seconds = (performance.now() - start) / 1000
  const count = mesh.accepted.accepted.size - before
  if (count !== agents.length * THROUGHPUT_EACH) throw new Error(`accepted ${count}`)
  rows.push({ group: 'update throughput', name: `25 agents × ${THROUGHPUT_EACH}, one gateway`, value: count / seconds, unit: 'accepted/s' })
  extra.updateBytes = (batches[0]?.[0]?.update.length ?? 0)
  await stopMesh(mesh)
}

printTable('Mesh: model spread and updates (in-process libp2p nodes on 127.0.0.1)', rows)
const file = writeResults('mesh', rows, extra)
console.log(`\nsingle stream: ${(extra.singleStreamMBps as number).toFixed(1)} MB/s; wrote ${file}`)
