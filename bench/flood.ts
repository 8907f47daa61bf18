// Update-protocol flood benchmark. Prints a table and writes bench/results/flood.json. A gateway
// (bench/lib/flood-gateway.ts, its own process, production update limits) on 127.0.0.1; in this
// process, an enrolled device submitting updates one after another, and unenrolled attacking peers,
// each holding 4 update streams: 2 silent ones (slow-loris) and 2 that send a stolen valid header
// followed by 24 MiB, again and again. Measured in one run:
// - the enrolled device's round trip (submit → verified signed receipt), p50 and p99, without and
//   during the flood (ratio to the run without);
// - the gateway's resident memory: idle, peak during the issue's attack (2 peers × 4 streams × 24 MiB),
//   peak during the flood, against the bound the limits give (protocols/mesh/constants.ts):
//   (MAX_UNVERIFIED_UPDATE_STREAMS + MAX_KNOWN_PEER_UPDATE_STREAMS + MAX_VERIFIED_UPDATE_STREAMS) × MAX_UPDATE_STREAM_SLACK_BYTES
//   + MAX_UPDATE_BUFFERED_BYTES + MAX_UPDATE_HANDLERS × MAX_DECODED_UPDATE_BYTES.
// `--quick` uses fewer peers and shorter phases.
import { fork, type ChildProcess } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { generatePrivateKey } from 'viem/accounts'
import { keccak256, toHex } from 'viem'
import { createMemorySigner, encodeSubmission, fleetDomain, PROTOCOL_UPDATE } from '../protocols/index.js'
import {
  MAX_DECODED_UPDATE_BYTES,
  MAX_KNOWN_PEER_UPDATE_STREAMS,
  MAX_UNVERIFIED_UPDATE_STREAMS,
  MAX_UPDATE_BUFFERED_BYTES,
  MAX_UPDATE_HANDLERS,
  MAX_UPDATE_STREAM_SLACK_BYTES,
  MAX_VERIFIED_UPDATE_STREAMS,
  type MeshNode,
  type UpdateServiceStats,
} from '../protocols/mesh/index.js'
import { makeDevice, makeSubmission, startAgent, type Fleet } from '../test/protocols/mesh/fleet-fixture.js'
import { printTable, withRatios, writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const MiB = 1024 * 1024
const PEERS = quick ? 16 : 48
const SUBMISSIONS = quick ? 15 : 40
const ISSUE_ATTACK_MS = quick ? 6_000 : 20_000
const PAYLOAD_BYTES = 24 * MiB
const DOMAIN = { chainId: 31337, verifyingContract: '0x00000000000000000000000000000000000000c0' } as const

interface Report {
  peakMiB: number
  rssMiB: number
  stats: UpdateServiceStats
  refusals: Record<string, number>
  accepted: number
}

/** The gateway process and a request/answer channel to it. */
function startGatewayProcess(): { child: ChildProcess; ask: <T>(command: Record<string, unknown>, answer: string) => Promise<T> } {
  const child = fork(fileURLToPath(new URL('./lib/flood-gateway.ts', import.meta.url)), [], { execArgv: ['--import=tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ask = <T>(command: Record<string, unknown>, answer: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: { type: string; message?: string }): void => {
        if (message.type === 'error') reject(new Error(message.message))
        else if (message.type !== answer) return
        child.off('message', onMessage)
        resolve(message as T)
      }
      child.on('message', onMessage)
      child.send(command)
    })
  return { child, ask }
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
}

async function main(): Promise<void> {
  const ownerKey = generatePrivateKey()
  const gatewayKey = generatePrivateKey()
  const fleet: Fleet = {
    fleet: keccak256(toHex(`flood-${Date.now()}`)),
    domain: fleetDomain(DOMAIN),
    owner: createMemorySigner({ privateKey: ownerKey }),
    gatewaySigner: createMemorySigner({ privateKey: gatewayKey }),
  }
  const gateway = startGatewayProcess()
  const nodes: MeshNode[] = []
  try {
    const started = await gateway.ask<{ multiaddr: string }>({ type: 'start', fleet: fleet.fleet, domain: DOMAIN, ownerKey, gatewayKey }, 'started')
    const target: Multiaddr = multiaddr(started.multiaddr)
    const device = await makeDevice(fleet)
    const honest = await startAgent(fleet, device, { limits: { updateTimeoutMs: 60_000 } })
    nodes.push(honest)
    await honest.dial(target)

    /** The enrolled device's round trips, one after another. */
    const roundTrips = async (n: number): Promise<{ ms: number[]; failures: number }> => {
      const ms: number[] = []
      let failures = 0
      for (let i = 0; i < n; i++) {
        const submission = await makeSubmission(fleet, device)
        const t0 = performance.now()
        try {
          const receipt = await honest.submitUpdate(target, submission)
          if (receipt.message.accepted) ms.push(performance.now() - t0)
          else failures++
        } catch {
          failures++
        }
      }
      return { ms, failures }
    }

    // The stolen header: the enrolled device's own, valid and signed, with 24 MiB behind it.
    const stolen = encodeSubmission({ ...(await makeSubmission(fleet, device)), update: new Uint8Array(PAYLOAD_BYTES) })
    let attacking = false
    const attackStream = async (node: MeshNode, silent: boolean): Promise<void> => {
      while (attacking) {
        let stream: Stream | undefined
        try {
          stream = await node.libp2p.dialProtocol(target, PROTOCOL_UPDATE, { signal: AbortSignal.timeout(10_000) })
          const lp = lpStream(stream, { maxDataLength: 4096 })
          if (!silent) void lp.write(stolen).catch(() => undefined)
          await lp.read({ signal: AbortSignal.timeout(70_000) }).catch(() => undefined)
        } catch {
          // refused: open another
        } finally {
          stream?.abort(new Error('next'))
        }
      }
    }
    const attackers = async (count: number): Promise<MeshNode[]> => {
      const peers: MeshNode[] = []
      for (let i = 0; i < count; i++) {
        const peer = await startAgent(fleet, await makeDevice(fleet))
        await peer.dial(target)
        peers.push(peer)
      }
      nodes.push(...peers)
      return peers
    }

    await roundTrips(5) // warm-up
    const idle = (await gateway.ask<{ rssMiB: number }>({ type: 'reset' }, 'reset')).rssMiB
    const calm = await roundTrips(SUBMISSIONS)
    const calmReport = await gateway.ask<Report>({ type: 'report' }, 'report')

    // The issue's attack: 2 unenrolled peers, each holding 4 streams that send 24 MiB.
    await gateway.ask({ type: 'reset' }, 'reset')
    const pair = await attackers(2)
    attacking = true
    const issueAttack = pair.flatMap((p) => [attackStream(p, false), attackStream(p, false), attackStream(p, false), attackStream(p, false)])
    await new Promise((resolve) => setTimeout(resolve, ISSUE_ATTACK_MS))
    const issueReport = await gateway.ask<Report>({ type: 'report' }, 'report')
    attacking = false
    await Promise.all(issueAttack)

    // The flood: many peers, silent streams and stolen headers, while the device submits.
    await gateway.ask({ type: 'reset' }, 'reset')
    const crowd = await attackers(PEERS)
    attacking = true
    const flood = crowd.flatMap((p) => [attackStream(p, true), attackStream(p, true), attackStream(p, false), attackStream(p, false)])
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const stormy = await roundTrips(SUBMISSIONS)
    const floodReport = await gateway.ask<Report>({ type: 'report' }, 'report')
    attacking = false
    await Promise.all(flood)

    const bound = (MAX_UNVERIFIED_UPDATE_STREAMS + MAX_KNOWN_PEER_UPDATE_STREAMS + MAX_VERIFIED_UPDATE_STREAMS) * MAX_UPDATE_STREAM_SLACK_BYTES + MAX_UPDATE_BUFFERED_BYTES + MAX_UPDATE_HANDLERS * MAX_DECODED_UPDATE_BYTES
    const rows: Row[] = withRatios([
      { group: 'enrolled device round trip', name: 'p50, no flood', value: quantile(calm.ms, 0.5), unit: 'ms' },
      { group: 'enrolled device round trip', name: `p50, ${PEERS}-peer flood`, value: quantile(stormy.ms, 0.5), unit: 'ms', baseline: 'p50, no flood' },
      { group: 'enrolled device round trip', name: 'p99, no flood', value: quantile(calm.ms, 0.99), unit: 'ms' },
      { group: 'enrolled device round trip', name: `p99, ${PEERS}-peer flood`, value: quantile(stormy.ms, 0.99), unit: 'ms', baseline: 'p99, no flood' },
      { group: 'enrolled device round trip', name: `failed, ${PEERS}-peer flood`, value: stormy.failures, unit: `of ${SUBMISSIONS}` },
      { group: 'gateway memory', name: 'RSS idle', value: idle, unit: 'MiB' },
      { group: 'gateway memory', name: 'RSS peak, 2 peers × 4 streams × 24 MiB', value: issueReport.peakMiB, unit: 'MiB', baseline: 'RSS idle' },
      { group: 'gateway memory', name: `RSS peak, ${PEERS}-peer flood`, value: floodReport.peakMiB, unit: 'MiB', baseline: 'RSS idle' },
      { group: 'gateway memory', name: 'growth, 2 peers × 4 × 24 MiB', value: issueReport.peakMiB - idle, unit: 'MiB' },
      { group: 'gateway memory', name: `growth, ${PEERS}-peer flood`, value: floodReport.peakMiB - idle, unit: 'MiB', baseline: 'bound (formula)' },
      { group: 'gateway memory', name: 'bound (formula)', value: bound / MiB, unit: 'MiB' },
    ])
    printTable(`Update-protocol flood (${quick ? 'quick' : 'full'}): ${PEERS} unenrolled peers × 4 streams, 24 MiB payloads`, rows)
    console.log(`\nrefusals during the flood: ${JSON.stringify(floodReport.refusals)}`)
    console.log(`refusals during the 2-peer attack: ${JSON.stringify(issueReport.refusals)}`)
    const file = writeResults('flood', rows, {
      quick,
      peers: PEERS,
      submissions: SUBMISSIONS,
      payloadBytes: PAYLOAD_BYTES,
      loadAverage1m: loadavg()[0],
      limits: { MAX_UNVERIFIED_UPDATE_STREAMS, MAX_KNOWN_PEER_UPDATE_STREAMS, MAX_VERIFIED_UPDATE_STREAMS, MAX_UPDATE_STREAM_SLACK_BYTES, MAX_UPDATE_BUFFERED_BYTES, MAX_UPDATE_HANDLERS, MAX_DECODED_UPDATE_BYTES },
      refusals: { issueAttack: issueReport.refusals, flood: floodReport.refusals },
      streamsAtEnd: { calm: calmReport.stats, flood: floodReport.stats },
    })
    console.log(`\nwrote ${file}`)
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()))
    await gateway.ask({ type: 'stop' }, 'stopped').catch(() => undefined)
    gateway.child.kill()
  }
}

await main()
