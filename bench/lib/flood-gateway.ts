// The gateway of bench/flood.ts, in a process of its own so that its memory is measured apart from
// the attackers'. It is told the fleet's keys over IPC (throwaway keys made for the run), starts a
// mesh gateway on 127.0.0.1 with the production update limits, samples its resident memory every
// 50 ms, and answers `report` with the peak since the last `reset`, its stream statistics and the
// refusals it counted by reason.
import type { Hex } from 'viem'
import { createMemorySigner, fleetDomain } from '../../protocols/index.js'
import { UPDATE_TIMEOUT_MS, type MeshNode, type UpdateRefusal } from '../../protocols/mesh/index.js'
import { AcceptedStore, startGateway, type Fleet } from '../../test/protocols/mesh/fleet-fixture.js'

interface Start {
  type: 'start'
  fleet: Hex
  domain: { chainId: number; verifyingContract: Hex }
  ownerKey: Hex
  gatewayKey: Hex
}
type Command = Start | { type: 'reset' } | { type: 'report' } | { type: 'stop' }

const MiB = 1024 * 1024
let gateway: MeshNode | undefined
let peak = 0
const refusals: Record<string, number> = {}
const accepted = new AcceptedStore()
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss())
}, 50)

const send = (message: unknown): void => {
  process.send?.(message)
}

process.on('message', (raw) => {
  const command = raw as Command
  void (async () => {
    switch (command.type) {
      case 'start': {
        const fleet: Fleet = {
          fleet: command.fleet,
          domain: fleetDomain(command.domain),
          owner: createMemorySigner({ privateKey: command.ownerKey }),
          gatewaySigner: createMemorySigner({ privateKey: command.gatewayKey }),
        }
        gateway = await startGateway({
          fleet,
          handler: accepted.handler,
          onRefusal: (r: UpdateRefusal) => {
            refusals[r.reason] = (refusals[r.reason] ?? 0) + 1
          },
          // Production update limits; only the per-host connection rate is lifted (every attacker is 127.0.0.1).
          limits: { updateTimeoutMs: UPDATE_TIMEOUT_MS, inboundConnectionThreshold: 100_000, maxConnections: 1024 },
        })
        send({ type: 'started', multiaddr: gateway.multiaddrs[0]?.toString() })
        return
      }
      case 'reset':
        global.gc?.()
        peak = process.memoryUsage.rss()
        send({ type: 'reset', rssMiB: peak / MiB })
        return
      case 'report':
        send({ type: 'report', peakMiB: peak / MiB, rssMiB: process.memoryUsage.rss() / MiB, stats: gateway?.updates?.stats(), refusals: { ...refusals }, accepted: accepted.calls })
        return
      case 'stop':
        clearInterval(sampler)
        await gateway?.stop()
        send({ type: 'stopped' })
        process.disconnect()
        return
    }
  })().catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }))
})
