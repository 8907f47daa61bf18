// The gateway daemon as an attacker meets it: a real daemon (in-process, as the daemon tests run
// it) on a real chain (the embedded EVM served over HTTP on 127.0.0.1), and outside libp2p clients
// on loopback. Five devices are registered; the round selects three. While unenrolled peers flood
// the update protocol (silent streams, and stolen headers followed by 8 MiB), an enrolled device
// is served within its time-out; a device that was not selected is refused `not-selected`; a
// device that claims more samples than allowed is refused `sample-count`, and one that claims the
// maximum with a useless update is accepted but bounded. Each refusal is counted by reason in
// `cw gateway status` and `/metrics`; the round completes, settles, pays the honest devices and
// passes `cw audit round --fleet`, selection included. A restart in the middle of the next round
// shows, measures and announces the model round 1 settled, not the genesis model.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { keccak256, stringToHex, type Hex } from 'viem'
import {
  buildMlp,
  contentId,
  createMemorySigner,
  decodeRoundRecord,
  encodeSubmission,
  encodeUpdate,
  hashMessage,
  namedTensor,
  readInitializers,
  signDeviceCertificate,
  signUpdateAttestation,
  sortByName,
  type Signed,
  type Signer,
  type UpdateSubmission,
} from '../../protocols/index.js'
import { PROTOCOL_UPDATE } from '../../protocols/constants.js'
import { createMeshNode, MemoryBlobStore, type MeshNode } from '../../protocols/mesh/index.js'
import { openKeyStore, writeFleetFile, writeJsonConfig, type FileKeyStoreConfig } from '../../hardware/index.js'
import { connectChain, deployFleet, registerDevices, serveChain, signerToAccount, startEmbeddedChain } from '../../gateway/settlement/index.js'
import { readGatewayConfig, startGatewayDaemon, type GatewayDaemon, type GatewayStatus } from '../../gateway/daemon/index.js'
import { logger, until } from '../protocols/mesh/fleet-fixture.js'
import { recordingLogger } from '../edge-agent/daemon/agent-fixture.js'

const run = promisify(execFile)
const CW = ['--import=tsx', join(import.meta.dirname, '../../cli/main.ts')]
const FAST = { n: 1024, r: 8, p: 1 }
const FLOOD_PEERS = 12
const CLIENT_TIMEOUT_MS = 30_000

async function cw(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CW, ...args], { timeout: 120_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

const dir = await mkdtemp(join(tmpdir(), 'cw-hardening-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const passwordFile = join(dir, 'password')
await writeFile(passwordFile, 'correct horse battery staple', { mode: 0o600 })
const store = (name: string): FileKeyStoreConfig => ({ kind: 'file', directory: join(dir, 'keys', name), password: { file: passwordFile }, scrypt: FAST })
async function newKey(config: FileKeyStoreConfig, label: string) {
  const keys = await openKeyStore(config)
  await keys.generate(label)
  return { keys, signer: await keys.open(label) }
}
const owner = await newKey(store('owner'), 'owner')
const gatewayKey = await newKey(store('gateway'), 'gateway')
await gatewayKey.keys.close()
t.teardown(() => owner.keys.close())

const embedded = await startEmbeddedChain({ fund: [owner.signer.address, gatewayKey.signer.address] })
t.teardown(() => embedded.close())
const served = await serveChain({ chain: embedded })
t.teardown(() => served.close())
const connection = await connectChain({ config: { rpcUrl: served.url, chainId: embedded.chain.id, pollIntervalMs: 50 } })
t.teardown(() => connection.close())
const ownerAccount = signerToAccount({ signer: owner.signer })
const fleetId = keccak256(stringToHex('gateway-hardening-test'))
const contracts = await deployFleet(connection, { owner: ownerAccount, fleet: fleetId, gateways: [gatewayKey.signer.address] })
const domain = { name: 'Counterweight', version: '1', chainId: embedded.chain.id, verifyingContract: contracts.registry } as const
const fleetFile = join(dir, 'fleet.json')
await writeFleetFile(fleetFile, {
  version: 1,
  fleet: fleetId,
  name: 'gateway hardening test',
  chain: { rpcUrl: served.url, chainId: embedded.chain.id, confirmations: 1 },
  contracts: { ...contracts, deployedAt: contracts.deployedAt.toString() },
  owner: owner.signer.address,
  gateways: [{ address: gatewayKey.signer.address, multiaddrs: [] }],
  domain,
})

interface Device {
  signer: Signer
  key: PrivateKey
  peerId: string
  certificate: Signed<'DeviceCertificate'>
}
async function makeDevice(certifier: Signer = owner.signer): Promise<Device> {
  const key = await generateKeyPair('Ed25519')
  const signer = createMemorySigner()
  const peerId = peerIdFromPrivateKey(key).toString()
  const certificate = await signDeviceCertificate({
    domain,
    signer: certifier,
    message: { device: signer.address, peerId, fleet: fleetId, hardwareModel: 'test-board', keyStorage: 'memory', capabilities: [], validFrom: 0n, validUntil: 2n ** 40n, serial: 'H-1' },
  })
  return { signer, key, peerId, certificate }
}
const devices = await Promise.all(Array.from({ length: 5 }, () => makeDevice()))
await registerDevices(connection, {
  owner: ownerAccount,
  registry: contracts.registry,
  devices: devices.map((d) => ({ device: d.signer.address, certificateHash: hashMessage('DeviceCertificate', domain, d.certificate.message) })),
})

await writeFile(join(dir, 'validation.csv'), 'a,b,c,d,label\n0,1,2,3,0\n3,2,1,0,1\n1,1,1,1,2\n0,0,0,9,1\n')
const MLP = { inputs: 4, hidden: [8], outputs: 3, seed: 7 }
const gatewayJson = join(dir, 'gateway.json')
await writeJsonConfig(gatewayJson, {
  version: 1,
  fleetFile: 'fleet.json',
  dataDir: 'gateway-data',
  keyStore: { ...store('gateway'), directory: 'keys/gateway', password: { file: 'password' } },
  keyLabel: 'gateway',
  model: { initial: { mlp: MLP } },
  validation: { csv: 'validation.csv', labelColumn: 'label' },
  rounds: {
    config: { durationSeconds: 300, quorum: 3, selection: { fraction: 0.6, min: 1, max: 3 }, strategy: { name: 'fedavg' } },
    schedule: { mode: 'manual' },
  },
  // Production stream limits; only the per-host connection rate is lifted, as every peer here is 127.0.0.1.
  limits: { inboundConnectionThreshold: 10_000 },
})

const daemon: GatewayDaemon = await startGatewayDaemon(await readGatewayConfig(gatewayJson), { logger })
t.teardown(() => daemon.stop())
const gatewayAddr = daemon.multiaddrs.find((a) => a.includes('127.0.0.1'))
if (gatewayAddr === undefined) throw new Error('the gateway listens on no loopback address')
const target = multiaddr(gatewayAddr)

/** An outside libp2p client with `key` as its transport key. */
async function client(key: PrivateKey): Promise<MeshNode> {
  const node = await createMeshNode({
    role: 'agent',
    privateKey: key,
    fleet: fleetId,
    domain,
    gateways: [gatewayKey.signer.address],
    modelStore: new MemoryBlobStore(),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    limits: { inboundConnectionThreshold: 10_000, updateTimeoutMs: CLIENT_TIMEOUT_MS },
    logger,
  })
  await node.start()
  await node.dial(gatewayAddr as string)
  return node
}

const specs = sortByName(readInitializers(buildMlp({ inputs: MLP.inputs, hidden: MLP.hidden, classes: MLP.outputs, seed: MLP.seed }), { floatOnly: true }))
/** An update with the model's tensors: `scale` times a fixed direction, plus per-device jitter. */
function update(scale: number, jitter: number): Uint8Array {
  return encodeUpdate(
    specs.map((s, k) =>
      namedTensor(
        s.name,
        'float32',
        [...s.shape],
        Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, (_, j) => scale * (Math.sin(j + k) + jitter * Math.cos(3 * j + k))),
      ),
    ),
    { encoding: 'float32' },
  )
}
async function submission(device: Device, round: bigint, baseModel: Hex, sampleCount: bigint, bytes: Uint8Array): Promise<UpdateSubmission> {
  const attestation = await signUpdateAttestation({
    domain,
    signer: device.signer,
    message: {
      fleet: fleetId,
      round,
      device: device.signer.address,
      baseModel,
      updateHash: contentId(bytes),
      sampleCount,
      metricsHash: keccak256(stringToHex(`metrics ${device.signer.address} ${sampleCount}`)),
      time: BigInt(Math.floor(Date.now() / 1000)),
    },
  })
  return { attestation, certificate: device.certificate, update: bytes }
}

const meta = await daemon.startRound()
const round = BigInt(meta.round)
const selected = devices.filter((d) => meta.participants.includes(d.signer.address))
const others = devices.filter((d) => !meta.participants.includes(d.signer.address))
const [honestA, honestB, liar] = selected as [Device, Device, Device]
const outsider = others[0] as Device
const clients = new Map<Device, MeshNode>()
for (const d of [honestA, honestB, liar, outsider]) clients.set(d, await client(d.key))
t.teardown(() => Promise.allSettled([...clients.values()].map((c) => c.stop())))
const submit = (d: Device, s: UpdateSubmission) => (clients.get(d) as MeshNode).submitUpdate(target, s)

const status = (): Promise<GatewayStatus> => daemon.status()
const metricsText = async (): Promise<string> => (await fetch(`${daemon.url}/metrics`)).text()
const metric = (text: string, reason: string): number => Number(new RegExp(`^cw_gateway_updates_rejected_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 'NaN')

t.test('the announcement commits to the selection', async (t) => {
  t.equal(meta.participants.length, 3, '3 of 5 selected (fraction 0.6)')
  t.equal(meta.announcement.message.eligibleBlock !== undefined && BigInt(meta.announcement.message.eligibleBlock) > 0n, true, 'the eligible block is announced')
  t.match(meta.announcement.message.selectionRule, '{"fraction":0.6,"max":3,"min":1}')
})

t.test('a flood of unenrolled peers: the enrolled device is served within its time-out', async (t) => {
  const attackers = await Promise.all(Array.from({ length: FLOOD_PEERS }, async () => client(await generateKeyPair('Ed25519'))))
  t.teardown(() => Promise.allSettled(attackers.map((a) => a.stop())))
  // A stolen header (honest B's, valid and signed) with 8 MiB behind it, and silent streams.
  const stolen = encodeSubmission(await submission(honestB, round, meta.baseModel, 100n, new Uint8Array(8 * 1024 * 1024)))
  let stop = false
  const attack = async (node: MeshNode, silent: boolean): Promise<void> => {
    while (!stop) {
      let stream: Stream | undefined
      try {
        stream = await node.libp2p.dialProtocol(target, PROTOCOL_UPDATE, { signal: AbortSignal.timeout(5000) })
        const lp = lpStream(stream, { maxDataLength: 4096 })
        if (!silent) void lp.write(stolen).catch(() => undefined)
        await lp.read({ signal: AbortSignal.timeout(15_000) }).catch(() => undefined)
      } catch {
        // refused at the connection or stream level: try again
      } finally {
        stream?.abort(new Error('next'))
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  const flood = attackers.flatMap((a) => [attack(a, true), attack(a, true), attack(a, false), attack(a, false)])
  await until(async () => ((await status()).updates.rejected['peer-unbound'] ?? 0) >= FLOOD_PEERS, 60_000, 'the flood to be refused')
  const started = Date.now()
  const receipt = await submit(honestA, await submission(honestA, round, meta.baseModel, 400n, update(0.01, 0.1)))
  const ms = Date.now() - started
  t.ok(receipt.message.accepted, `the enrolled device's update was accepted during the flood, in ${ms} ms`)
  t.ok(ms < CLIENT_TIMEOUT_MS, 'within its time-out')
  const text = await metricsText()
  const buffered = Number(/^cw_gateway_update_buffered_bytes (\d+)/m.exec(text)?.[1] ?? 'NaN')
  t.ok(buffered <= 128 * 1024 * 1024, `reserved bytes stay under the cap (${buffered})`)
  stop = true
  await Promise.all(flood)
  const s = await status()
  t.ok((s.updates.rejected['peer-unbound'] ?? 0) >= FLOOD_PEERS, `stolen headers refused as peer-unbound: ${s.updates.rejected['peer-unbound']}`)
  t.comment(`refusals during the flood: ${JSON.stringify(s.updates.rejected)}`)
})

t.test('a device that was not selected is refused, from its header', async (t) => {
  const receipt = await submit(outsider, await submission(outsider, round, meta.baseModel, 300n, update(0.01, 0.2)))
  t.same([receipt.message.accepted, receipt.message.reason], [false, 'not-selected'])
  t.equal((await status()).updates.rejected['not-selected'], 1)
})

t.test('a device claiming more than the maximum is refused; at the maximum it is bounded', async (t) => {
  const useless = update(-0.03, 2)
  const over = await submit(liar, await submission(liar, round, meta.baseModel, 10_000_000n, useless))
  t.same([over.message.accepted, over.message.reason], [false, 'sample-count'], '10,000,000 samples: over the default bound of 100,000')
  t.equal((await status()).updates.rejected['sample-count'], 1)
  const max = await submit(liar, await submission(liar, round, meta.baseModel, 100_000n, useless))
  t.ok(max.message.accepted, 'the maximum itself is accepted')
})

t.test('the round completes and the honest devices are paid', async (t) => {
  const last = await submit(honestB, await submission(honestB, round, meta.baseModel, 600n, update(0.012, 0.15)))
  t.ok(last.message.accepted)
  await until(async () => (await status()).rounds[0]?.state === 'done', 120_000, 'the round to settle')
  const s = await status()
  const summary = s.rounds[0]
  t.equal(summary?.accepted, 3, 'the three selected devices contributed')
  t.equal(summary?.settlement, 'settled')
  const record = decodeRoundRecord(await readFile(join(dir, 'gateway-data', 'published', (summary?.recordHash as Hex).toLowerCase())))
  const reward = (d: Device): bigint => record.contributions.find((c) => c.attestation.message.device === d.signer.address)?.reward ?? -1n
  t.comment(`rewards: honest A ${reward(honestA)}, honest B ${reward(honestB)}, liar (100,000 samples claimed) ${reward(liar)}`)
  t.ok(reward(honestA) > 0n && reward(honestB) > 0n, 'both honest devices are rewarded')
  t.equal(reward(liar), 0n, 'the useless update earns nothing, whatever it claimed')
  t.ok(reward(honestA) + reward(honestB) > (record.rewardTotal * 99n) / 100n, 'the honest devices share the reward')

  const audit = await cw(['audit', 'round', '1', '--blobs', join(dir, 'gateway-data', 'published'), '--fleet', fleetFile, '--json'])
  const report = JSON.parse(audit.stdout) as { ok: boolean; items: { item: string; ok: boolean; detail: string }[] }
  t.equal(audit.code, 0, audit.stderr)
  t.ok(report.ok, 'the audit matches every item')
  t.same(report.items.filter((i) => i.item.startsWith('selection')).map((i) => [i.item, i.ok]), [
    ['selection commitment', true],
    ['selection', true],
    ['selection: contributors', true],
  ], 'the selection is recomputed from the chain')
})

t.test('every refusal is counted the same in cw gateway status and /metrics', async (t) => {
  const cli = await cw(['gateway', 'status', '--config', gatewayJson, '--json'])
  t.equal(cli.code, 0, cli.stderr)
  const fromCli = JSON.parse(cli.stdout) as GatewayStatus
  const text = await metricsText()
  for (const reason of ['peer-unbound', 'not-selected', 'sample-count']) {
    t.ok((fromCli.updates.rejected[reason] ?? 0) > 0, `${reason} in cw gateway status: ${fromCli.updates.rejected[reason]}`)
    t.equal(metric(text, reason), fromCli.updates.rejected[reason], `${reason} in /metrics`)
  }
  for (const [reason, n] of Object.entries(fromCli.updates.rejected)) t.equal(metric(text, reason), n, `${reason}: ${n} both ways`)
  t.equal(fromCli.updates.accepted, 3)
})

t.test('a restart mid-round shows and announces the last settled model, not the genesis one', async (t) => {
  const before = await status()
  const round1 = before.rounds[0]
  t.equal(round1?.keptParent, false, 'round 1 made a new model')
  const settledModel = round1?.newModel as Hex
  t.not(settledModel, before.genesis.model)
  t.equal(before.model.hash, settledModel)
  const second = await daemon.startRound()
  t.equal(second.baseModel, settledModel, 'round 2 trains the settled model')
  await daemon.stop()
  const { logger: recorded, lines } = recordingLogger()
  const restarted = await startGatewayDaemon(await readGatewayConfig(gatewayJson), { logger: recorded })
  t.teardown(() => restarted.stop())
  const after = await restarted.status()
  t.equal(after.state, 'collecting', 'round 2 is resumed')
  t.same(after.model, before.model, 'the model in force and its accuracy are the settled one, mid-round')
  const text = await (await fetch(`${restarted.url}/metrics`)).text()
  const gauge = /^cw_gateway_model_accuracy (\S+)$/m.exec(text)?.[1]
  t.equal(Number(gauge), before.model.accuracy, '/metrics shows its accuracy')
  // Announced to whoever is connected (here: nobody may be, which the daemon logs as not announced).
  const announcing = (l: Record<string, unknown>): boolean => l.msg === 'model availability announced' || l.msg === 'model availability not announced'
  t.ok(lines.some((l) => announcing(l) && l.model === settledModel), 'and announces it')
  t.notOk(lines.some((l) => announcing(l) && l.model === before.genesis.model), 'never the genesis model')
})
