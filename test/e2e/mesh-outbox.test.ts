// The outbox over a real mesh: an agent process killed with kill -9 while holding 5 pending
// entries delivers all 5 after it restarts; a gateway stopped for 30 s then restarted receives
// every queued update exactly once.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { bytesToHex, type Hex } from 'viem'
import { encodeSubmission } from '../../protocols/index.js'
import type { MeshNode, UpdateDecision, VerifiedSubmission } from '../../protocols/mesh/index.js'
import { loadTransportKey } from '../../hardware/keys/transport-key.js'
import { Outbox, meshSender } from '../../edge-agent/outbox/index.js'
import { logger, makeDevice, makeFleet, makeSubmission, startAgent, startGateway, until } from '../protocols/mesh/fleet-fixture.js'

const OUTAGE_MS = 30_000 // the 30 s

const dir = await mkdtemp(join(tmpdir(), 'cw-mesh-outbox-'))
const children = new Set<ChildProcess>()
const nodes = new Set<MeshNode>()
t.teardown(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await Promise.allSettled([...nodes].map((n) => n.stop()))
  await rm(dir, { recursive: true, force: true })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** A gateway store that counts how often each attestation reached the handler. */
function countingStore(): { handled: Map<Hex, number>; handler: (s: VerifiedSubmission) => Promise<UpdateDecision> } {
  const handled = new Map<Hex, number>()
  return {
    handled,
    handler: async (s) => {
      handled.set(s.attestationHash, (handled.get(s.attestationHash) ?? 0) + 1)
      return { accepted: true, reason: '' }
    },
  }
}

interface Child {
  process: ChildProcess
  events: Record<string, unknown>[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function startChild(config: Record<string, unknown>): Child {
  const script = fileURLToPath(new URL('./mesh-agent-child.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, CW_CHILD_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.add(child)
  const events: Record<string, unknown>[] = []
  let buffer = ''
  child.stdout?.setEncoding('utf8')
  child.stdout?.on('data', (data: string) => {
    buffer += data
    const lines = buffer.split('\n')
    buffer = lines.pop() ?? ''
    for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as Record<string, unknown>)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return { process: child, events, exited }
}

t.test('an agent killed with kill -9 holding 5 pending entries delivers all 5 after restart', async (t) => {
  const fleet = makeFleet()
  const childDir = join(dir, 'child')
  // The parent makes the child's transport key first, to certify its peer id.
  const device = await makeDevice(fleet, await loadTransportKey({ dir: childDir }))
  const submissions = await Promise.all(Array.from({ length: 5 }, () => makeSubmission(fleet, device)))
  const gatewayKey = await generateKeyPair('Ed25519')
  const port = await freePort()
  const gatewayAddr = `/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdFromPrivateKey(gatewayKey).toString()}`
  const config = { dir: childDir, fleet: fleet.fleet, domain: fleet.domain, gateways: [fleet.gatewaySigner.address], gatewayAddr }

  // The gateway is not up yet: the child queues, fails to deliver, and is killed.
  const first = startChild({ ...config, submissions: submissions.map((s) => bytesToHex(encodeSubmission(s))) })
  await until(() => first.events.some((e) => e.queued === 5) && first.events.some((e) => 'retry' in e), 30_000, 'the child to queue 5 and try')
  first.process.kill('SIGKILL')
  t.same((await first.exited).signal, 'SIGKILL', 'the child died by SIGKILL')

  const store = countingStore()
  const gateway = await startGateway({ fleet, privateKey: gatewayKey, port, handler: store.handler })
  nodes.add(gateway)
  const second = startChild({ ...config, submissions: [] })
  await until(() => second.events.some((e) => 'queued' in e), 30_000, 'the restarted child to open its outbox')
  t.same(second.events.find((e) => 'queued' in e), { queued: 5 }, 'the restarted child still holds 5 entries')
  await until(() => store.handled.size === 5, 30_000, 'all 5 at the gateway')
  await until(() => second.events.filter((e) => 'delivered' in e).length === 5, 10_000, 'all 5 receipted')
  t.same([...store.handled.keys()].sort(), submissions.map((s) => s.attestationHash).sort(), 'the gateway has exactly the 5 queued updates')
  second.process.kill('SIGTERM')
  t.same((await second.exited).code, 0, 'the child stops cleanly')
  await gateway.stop()
  nodes.delete(gateway)
})

t.test('a gateway stopped for 30 s then restarted receives every queued update exactly once', async (t) => {
  const fleet = makeFleet()
  const gatewayKey = await generateKeyPair('Ed25519')
  const store = countingStore()
  let gateway = await startGateway({ fleet, privateKey: gatewayKey, handler: store.handler })
  nodes.add(gateway)
  const port = Number(/\/tcp\/(\d+)/.exec(String(gateway.multiaddrs[0]))?.[1])
  const device = await makeDevice(fleet)
  const agent = await startAgent(fleet, device)
  nodes.add(agent)
  const gatewayAddr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${gateway.peerId.toString()}`)
  const outbox = await Outbox.open({
    location: join(dir, 'outage-outbox'),
    domain: fleet.domain,
    gateways: [fleet.gatewaySigner.address],
    send: meshSender({ node: agent, gateways: [gatewayAddr] }),
    logger,
    backoffBaseMs: 200,
    backoffMaxMs: 2000,
  })
  t.teardown(() => outbox.close())
  outbox.start()

  const before = await Promise.all(Array.from({ length: 3 }, () => makeSubmission(fleet, device)))
  for (const s of before) await outbox.enqueue(s)
  await until(() => outbox.pending().length === 0, 10_000, 'delivery while the gateway is up')

  await gateway.stop()
  nodes.delete(gateway)
  const during = await Promise.all(Array.from({ length: 5 }, () => makeSubmission(fleet, device)))
  for (const s of during) await outbox.enqueue(s)
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS))
  t.equal(outbox.pending().length, 5, 'all 5 still queued after 30 s of outage')
  t.ok(outbox.pending().every((e) => e.attempts >= 3), `and retried meanwhile (attempts: ${outbox.pending().map((e) => e.attempts).join(', ')})`)

  gateway = await startGateway({ fleet, privateKey: gatewayKey, port, handler: store.handler })
  nodes.add(gateway)
  await until(() => outbox.pending().length === 0, 15_000, 'delivery after the restart')
  const all = [...before, ...during].map((s) => s.attestationHash)
  t.same([...store.handled.keys()].sort(), [...all].sort(), 'every queued update is in the gateway store')
  t.same([...store.handled.values()], Array(all.length).fill(1), 'each exactly once')
})
