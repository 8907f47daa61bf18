// A minimal agent process for test/e2e/mesh-outbox.test.ts: a mesh node and a level outbox in a
// data directory. It enqueues the submissions it is given, delivers to the gateway, and prints
// one JSON line per event. It stops cleanly on SIGTERM (a SIGKILL is the point of the test).
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { hexToBytes, type Address, type Hex } from 'viem'
import type { FleetDomain } from '../../protocols/index.js'
import { createMeshNode, MemoryBlobStore } from '../../protocols/mesh/index.js'
import { loadTransportKey } from '../../hardware/keys/transport-key.js'
import { Outbox, meshSender } from '../../edge-agent/outbox/index.js'
import { logger, TEST_LIMITS } from '../protocols/mesh/fleet-fixture.js'

interface ChildConfig {
  dir: string
  fleet: Hex
  domain: FleetDomain
  gateways: Address[]
  gatewayAddr: string
  submissions: Hex[]
}

const config = JSON.parse(process.env.CW_CHILD_CONFIG ?? '{}') as ChildConfig
const say = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

const node = await createMeshNode({
  role: 'agent',
  privateKey: await loadTransportKey({ dir: config.dir }),
  fleet: config.fleet,
  domain: config.domain,
  gateways: config.gateways,
  modelStore: new MemoryBlobStore(),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  mdns: false,
  limits: TEST_LIMITS,
  logger,
})
await node.start()
const outbox = await Outbox.open({
  location: join(config.dir, 'outbox'),
  domain: config.domain,
  gateways: config.gateways,
  send: meshSender({ node, gateways: [multiaddr(config.gatewayAddr)] }),
  logger,
  backoffBaseMs: 100,
  backoffMaxMs: 1000,
})
outbox.addEventListener('delivered', (evt) => say({ delivered: (evt as CustomEvent<{ entry: { attestationHash: Hex } }>).detail.entry.attestationHash }))
outbox.addEventListener('retry', (evt) => say({ retry: (evt as CustomEvent<{ entry: { attestationHash: Hex } }>).detail.entry.attestationHash }))
for (const submission of config.submissions) await outbox.enqueue(hexToBytes(submission))
say({ queued: outbox.pending().length })
outbox.start()

process.once('SIGTERM', () => {
  void (async () => {
    await outbox.close()
    await node.stop()
    say({ stopped: true })
    process.exit(0)
  })()
})
