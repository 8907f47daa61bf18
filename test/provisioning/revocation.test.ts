// Revocation and key rotation as a gateway sees them: real libp2p nodes on 127.0.0.1, a gateway
// whose update handler runs the verification pipeline with the chain-backed registry
// (ChainRegistry over a `hardhat node`), and agents built from the device bundles enrolment wrote
// (their key store, transport key and certificate). A revoked device's next update is refused
// with reason `revoked`; after a key rotation the new key is accepted and the old refused.
import t from 'tap'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { join } from 'node:path'
import { keccak256, toHex, type Hex } from 'viem'
import {
  certifiedMaxSamples,
  contentId,
  createMemorySigner,
  encodeUpdate,
  namedTensor,
  signUpdateAttestation,
  type Signed,
  type UpdateSubmission,
} from '../../protocols/index.js'
import { createMeshNode, MemoryBlobStore, type MeshNode } from '../../protocols/mesh/index.js'
import { certificateOf, loadTransportKey, openKeyStore, readDeviceBundle, type KeySigner, type KeyStore } from '../../hardware/index.js'
import { ChainRegistry } from '../../gateway/settlement/chain-registry.js'
import { verifySubmission, type VerificationContext } from '../../gateway/verify/index.js'
import {
  createEnrolmentRequest,
  createFleet,
  listDevices,
  provisionLocalDevices,
  revokeDevices,
  rotateDeviceKey,
} from '../../provisioning/index.js'
import { logger, TEST_LIMITS } from '../protocols/mesh/fleet-fixture.js'
import { ENV, fileStore, generateKey, PROFILE, rejection, startChain, tempDir } from './helpers.js'

const BASE_MODEL = keccak256(toHex('base model'))
const dir = await tempDir(t, 'revocation')
const chain = await startChain(t, 'node')
const { connection } = chain
const ownerStore = fileStore(join(dir, 'owner-keys'))
const owner = { keyStore: ownerStore, label: 'owner' }
await chain.fund(await generateKey(ownerStore, 'owner'))
const gatewaySigner = createMemorySigner()
const fleetFile = join(dir, 'fleet.json')
const stateDir = join(dir, 'state')
const { fleet } = await createFleet({ file: fleetFile, owner, chain: { rpcUrl: chain.rpcUrl, chainId: 31337 }, gateways: [gatewaySigner.address], connection, env: ENV })
const common = { fleet: fleetFile, owner, stateDir, connection, env: ENV }

const deviceDir = (name: string) => join(dir, 'devices', name)
await provisionLocalDevices({
  ...common,
  hardware: PROFILE,
  maxSamples: 5000,
  devices: ['a', 'b'].map((name) => ({
    key: { keyStore: fileStore(join(deviceDir(name), 'keys')) },
    transportKeyDir: join(deviceDir(name), 'transport'),
    serial: `SN-${name}`,
    bundle: join(deviceDir(name), 'device.json'),
    sensors: [{ driver: 'synthetic', id: 'temperature' }],
  })),
})

// The gateway: the update handler is the verification pipeline, the registry is read from the chain.
const accepted = new Set<Hex>()
const context = (): VerificationContext => ({
  domain: fleet.domain,
  fleet: fleet.fleet,
  owner: fleet.owner,
  registry: new ChainRegistry({ client: connection.publicClient, registry: fleet.contracts.registry }),
  round: { round: 1n, open: true, baseModel: BASE_MODEL },
  model: [{ name: 'w', shape: [4] }],
  limits: { maxNorm: 100, minSamples: 1, maxSamples: 10_000, maxAgeSeconds: 600, maxSkewSeconds: 60 },
  seen: async (h) => accepted.has(h),
  now: () => Date.now() / 1000,
})
const gateway: MeshNode = await createMeshNode({
  role: 'gateway',
  privateKey: await generateKeyPair('Ed25519'),
  fleet: fleet.fleet,
  domain: fleet.domain,
  gateways: [gatewaySigner.address],
  modelStore: new MemoryBlobStore(),
  recordStore: new MemoryBlobStore(),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  mdns: false,
  gateway: {
    owner: fleet.owner,
    signer: gatewaySigner,
    handler: async (submission) => {
      const verdict = await verifySubmission(submission, submission.peerId, context())
      if (!verdict.accepted) return { accepted: false, reason: verdict.reason }
      accepted.add(verdict.attestationHash)
      return { accepted: true, reason: '' }
    },
  },
  limits: TEST_LIMITS,
  logger,
})
await gateway.start()
const nodes: MeshNode[] = [gateway]
const stores: KeyStore[] = []
t.teardown(async () => {
  await Promise.allSettled(nodes.map((n) => n.stop()))
  await Promise.allSettled(stores.map((s) => s.close()))
})

interface Agent {
  node: MeshNode
  signer: KeySigner
  certificate: Signed<'DeviceCertificate'>
}

/** An agent as a device runs it from its bundle: its key store, its transport key, its certificate. */
async function agentFrom(bundleFile: string, node?: MeshNode): Promise<Agent> {
  const bundle = await readDeviceBundle(bundleFile)
  const store = await openKeyStore(bundle.keyStore, { env: ENV })
  stores.push(store)
  const signer = await store.open(bundle.keyLabel)
  if (node === undefined) {
    node = await createMeshNode({
      role: 'agent',
      privateKey: await loadTransportKey({ dir: bundle.transportKeyDir }),
      fleet: bundle.fleet.fleet,
      domain: bundle.fleet.domain,
      gateways: bundle.fleet.gateways.map((g) => g.address),
      modelStore: new MemoryBlobStore(),
      recordStore: new MemoryBlobStore(),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      limits: TEST_LIMITS,
      logger,
    })
    await node.start()
    nodes.push(node)
    await node.dial(gateway.multiaddrs[0] as never)
  }
  return { node, signer, certificate: certificateOf(bundle) }
}

let counter = 0
async function submit(agent: Agent): Promise<{ accepted: boolean; reason: string }> {
  counter++
  const update = encodeUpdate([namedTensor('w', 'float32', [4], new Float32Array([0.1 * counter, 0.2, 0.3, 0.4]))], { encoding: 'float32' })
  const attestation = await signUpdateAttestation({
    domain: fleet.domain,
    signer: agent.signer,
    message: {
      fleet: fleet.fleet,
      round: 1n,
      device: agent.signer.address,
      baseModel: BASE_MODEL,
      updateHash: contentId(update),
      sampleCount: 10n,
      metricsHash: keccak256(toHex(`metrics ${counter}`)),
      time: BigInt(Math.floor(Date.now() / 1000)),
    },
  })
  const submission: UpdateSubmission = { attestation, certificate: agent.certificate, update }
  const receipt = await agent.node.submitUpdate(gateway.peerId, submission)
  return { accepted: receipt.message.accepted, reason: receipt.message.reason }
}

const a = await agentFrom(join(deviceDir('a'), 'device.json'))
const b = await agentFrom(join(deviceDir('b'), 'device.json'))

t.test('enrolled devices are accepted by the gateway', async (t) => {
  t.same(await submit(a), { accepted: true, reason: '' }, 'device a')
  t.same(await submit(b), { accepted: true, reason: '' }, 'device b')
})

t.test('revoke one device: its next update is refused with reason revoked', async (t) => {
  const result = await revokeDevices({ ...common, devices: [a.signer.address] })
  t.same(result.revoked, [a.signer.address])
  t.equal(result.transactions.length, 1)
  t.same(await submit(a), { accepted: false, reason: 'revoked' }, 'the revoked device is refused from its next submission')
  t.same(await submit(b), { accepted: true, reason: '' }, 'the other device is still accepted')
  const again = await revokeDevices({ ...common, devices: [a.signer.address] })
  t.same(again, { revoked: [], skipped: [a.signer.address], transactions: [] }, 'revoking again does nothing')
  t.match(await rejection(revokeDevices({ ...common, devices: [createMemorySigner().address] })), { code: 'CW_CHAIN_DEVICE_NOT_REGISTERED' }, 'an unknown device is refused before anything is sent')
})

t.test('rotate a key: the new key is accepted, the old one refused', async (t) => {
  const bundleFile = join(deviceDir('b'), 'device.json')
  const old = await readDeviceBundle(bundleFile)
  // Device side: a new key in the same store, the request endorsed by the old key.
  const made = await createEnrolmentRequest({
    fleet: old.fleet,
    key: { keyStore: old.keyStore, label: 'device-2' },
    previous: { keyStore: old.keyStore, label: old.keyLabel },
    transportKeyDir: old.transportKeyDir,
    serial: old.serial,
    hardware: PROFILE,
    env: ENV,
  })
  t.equal(made.request.previous, old.device, 'the request names the old device')
  t.not(made.request.endorsement, null, 'and carries its endorsement')
  // Owner side.
  const rotated = await rotateDeviceKey({ ...common, request: made.encoded })
  t.equal(rotated.changed, true)
  t.equal(rotated.previous, old.device)
  t.equal(rotated.transactions.length, 2, 'register the new key, revoke the old one')
  const fresh = await readDeviceBundle(bundleFile)
  t.equal(fresh.device, made.device, 'the bundle now names the new key')
  t.equal(fresh.keyLabel, 'device-2')
  t.same(fresh.sensors, [{ driver: 'synthetic', id: 'temperature' }], "the old bundle's sensors carry over")
  t.same(fresh.bootstrap, old.bootstrap)
  t.equal(certifiedMaxSamples(certificateOf(fresh).message), 5000n, "the owner's sample bound carries over to the new key's certificate")

  const renewed = await agentFrom(bundleFile, b.node)
  t.same(await submit(renewed), { accepted: true, reason: '' }, 'the new key is accepted')
  t.same(await submit(b), { accepted: false, reason: 'revoked' }, 'the old key is refused')

  const again = await rotateDeviceKey({ ...common, request: made.encoded })
  t.equal(again.changed, false, 'running the rotation again changes nothing')
  t.same(again.transactions, [])

  const listing = await listDevices({ fleet: fleetFile, stateDir, connection })
  const byDevice = new Map(listing.map((d) => [d.device, d]))
  t.equal(byDevice.get(a.signer.address)?.status, 'revoked')
  t.equal(byDevice.get(old.device)?.status, 'revoked')
  t.equal(byDevice.get(old.device)?.replacedBy, made.device)
  t.equal(byDevice.get(made.device)?.status, 'active')
  t.equal(byDevice.get(made.device)?.previous, old.device)
})
