// The gateway daemon against a real chain: the embedded EVM served over HTTP on 127.0.0.1, the
// fleet's contracts deployed by its owner, the gateway key in a file key store. It settles its
// initial model as round 0 once (not again after a restart), serves its status and starts rounds
// through `cw gateway status|round start` as separate processes, closes a round nobody answered at
// its deadline without settling it, refuses bad API requests, and refuses a bad gateway.json
// naming the field.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import t from 'tap'
import { keccak256, stringToHex, type Address } from 'viem'
import { isSettledModel } from '../../../protocols/index.js'
import { readRoundSettlement } from '../../../protocols/contracts/index.js'
import { openKeyStore, writeFleetFile, writeJsonConfig, type FileKeyStoreConfig } from '../../../hardware/index.js'
import { connectChain, deployFleet, registerDevices, serveChain, signerToAccount, startEmbeddedChain } from '../../../gateway/settlement/index.js'
import { parseGatewayConfig, readGatewayConfig, startGatewayDaemon, type GatewayDaemon } from '../../../gateway/daemon/index.js'

const run = promisify(execFile)
const CW = ['--import=tsx', join(import.meta.dirname, '../../../cli/main.ts')]
const FAST = { n: 1024, r: 8, p: 1 }

async function cw(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CW, ...args], { timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

const dir = await mkdtemp(join(tmpdir(), 'cw-gateway-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const passwordFile = join(dir, 'password')
await writeFile(passwordFile, 'correct horse battery staple', { mode: 0o600 })
const store = (name: string): FileKeyStoreConfig => ({ kind: 'file', directory: join(dir, 'keys', name), password: { file: passwordFile }, scrypt: FAST })

async function newKey(config: FileKeyStoreConfig, label: string) {
  const keys = await openKeyStore(config)
  await keys.generate(label)
  const signer = await keys.open(label)
  return { keys, signer }
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
const fleetId = keccak256(stringToHex('gateway-daemon-test'))
const contracts = await deployFleet(connection, { owner: ownerAccount, fleet: fleetId, gateways: [gatewayKey.signer.address] })
const fleetFile = join(dir, 'fleet.json')
await writeFleetFile(fleetFile, {
  version: 1,
  fleet: fleetId,
  name: 'gateway daemon test',
  chain: { rpcUrl: served.url, chainId: embedded.chain.id, confirmations: 1 },
  contracts: { ...contracts, deployedAt: contracts.deployedAt.toString() },
  owner: owner.signer.address,
  gateways: [{ address: gatewayKey.signer.address, multiaddrs: [] }],
  domain: { name: 'Counterweight', version: '1', chainId: embedded.chain.id, verifyingContract: contracts.registry },
})

// A validation set of four rows of 4 features: enough to give an accuracy.
const validationCsv = join(dir, 'validation.csv')
await writeFile(validationCsv, 'a,b,c,d,label\n0,1,2,3,0\n3,2,1,0,1\n1,1,1,1,2\n0,0,0,9,1\n')

const gatewayJson = join(dir, 'gateway.json')
const gatewayConfig = {
  version: 1,
  fleetFile: 'fleet.json',
  dataDir: 'gateway-data',
  keyStore: { ...store('gateway'), directory: 'keys/gateway', password: { file: 'password' } },
  keyLabel: 'gateway',
  model: { initial: { mlp: { inputs: 4, hidden: [8], outputs: 3, seed: 7 } } },
  validation: { csv: 'validation.csv', labelColumn: 'label' },
  rounds: { config: { durationSeconds: 15, quorum: 1, strategy: { name: 'fedavg' } }, schedule: { mode: 'manual' } },
}
await writeJsonConfig(gatewayJson, gatewayConfig)

let daemon: GatewayDaemon | undefined
t.teardown(() => daemon?.stop())

let initPeerId: string | undefined
t.test('cw gateway init: the peer id and dial addresses before the first start', async (t) => {
  const noKey = join(dir, 'gateway-nokey.json')
  await writeJsonConfig(noKey, { ...gatewayConfig, dataDir: 'nokey-data', keyLabel: 'not-there' })
  const refused = await cw(['gateway', 'init', '--config', noKey])
  t.equal(refused.code, 1, 'a missing gateway key is refused')
  t.match(refused.stderr, /^error CW_GATEWAY_INIT: .*gateway-nokey\.json: .*not-there.*--generate-key/m)
  t.equal(refused.stderr.trim().split('\n').length, 1, 'in one line')
  const fixed = join(dir, 'gateway-fixed.json')
  await writeJsonConfig(fixed, { ...gatewayConfig, dataDir: 'fixed-data', keyLabel: 'second', listen: ['/ip4/0.0.0.0/tcp/14555', '/ip4/127.0.0.1/tcp/14556', '/ip4/127.0.0.1/tcp/0'] })
  const generated = await cw(['gateway', 'init', '--config', fixed, '--generate-key', '--host', 'gw.example.org', '--json'])
  t.equal(generated.code, 0, generated.stderr)
  const g = JSON.parse(generated.stdout) as { address: string; peerId: string; generatedKey: boolean; createdTransportKey: boolean; multiaddrs: string[]; skipped: { listen: string; reason: string }[] }
  t.ok(g.generatedKey && g.createdTransportKey)
  t.same(g.multiaddrs, [`/dns/gw.example.org/tcp/14555/p2p/${g.peerId}`, `/ip4/127.0.0.1/tcp/14556/p2p/${g.peerId}`], 'every fixed listen address, named by the peer id')
  t.match(g.skipped, [{ listen: '/ip4/127.0.0.1/tcp/0', reason: /port 0/ }])
  const again = await cw(['gateway', 'init', '--config', fixed, '--json'])
  t.match(JSON.parse(again.stdout), { address: g.address, peerId: g.peerId, generatedKey: false, createdTransportKey: false }, 'a second run keeps both keys')
  const human = await cw(['gateway', 'init', '--config', gatewayJson])
  t.equal(human.code, 0, human.stderr)
  t.match(human.stdout, new RegExp(`gateway\\s+${gatewayKey.signer.address}`))
  initPeerId = /peer\s+(\S+)/.exec(human.stdout)?.[1]
  t.ok(initPeerId, 'prints the peer id')
})

t.test('genesis: the initial model is settled as round 0, once', async (t) => {
  daemon = await startGatewayDaemon(await readGatewayConfig(gatewayJson))
  const status = await daemon.status()
  t.equal(status.gateway, gatewayKey.signer.address)
  t.equal(status.state, 'idle')
  t.equal(status.peerId, initPeerId, 'the daemon runs as the peer cw gateway init made')
  t.not(status.genesis.settlementTx, null, 'genesis was sent')
  t.type(status.genesis.accuracy, 'number', 'the initial model was evaluated on the validation set')
  const settled = await isSettledModel(connection.publicClient, { ledger: contracts.ledger, model: status.genesis.model })
  t.ok(settled.settled, 'the initial model passes the provenance check')
  const round0 = await readRoundSettlement(connection.publicClient, { ledger: contracts.ledger, round: 0n, fromBlock: contracts.deployedAt })
  t.ok(round0.settled)
  if (round0.settled) t.equal(round0.recordHash, status.genesis.recordHash)
  await daemon.stop()
  daemon = undefined

  const blockBefore = await connection.publicClient.getBlockNumber()
  daemon = await startGatewayDaemon(await readGatewayConfig(gatewayJson))
  t.equal((await daemon.status()).genesis.settlementTx, status.genesis.settlementTx, 'a restart finds genesis settled')
  t.equal(await connection.publicClient.getBlockNumber(), blockBefore, 'and sends no transaction')
})

t.test('cw gateway status and round start talk to the running daemon', async (t) => {
  const status = await cw(['gateway', 'status', '--config', gatewayJson, '--json'])
  t.equal(status.code, 0, status.stderr)
  const parsed = JSON.parse(status.stdout) as { state: string; peerId: string; rounds: unknown[] }
  t.equal(parsed.state, 'idle')
  t.equal(parsed.peerId, daemon?.peerId)
  t.same(parsed.rounds, [])

  const human = await cw(['gateway', 'status', '--config', gatewayJson])
  t.match(human.stdout, /state\s+idle/)

  const none = await cw(['gateway', 'round', 'start', '--config', gatewayJson])
  t.equal(none.code, 1, 'no registered device: refused')
  t.match(none.stderr, /CW_NO_ELIGIBLE_DEVICES/)

  const device = '0x00000000000000000000000000000000000000d1' as Address
  await registerDevices(connection, { owner: ownerAccount, registry: contracts.registry, devices: [{ device, certificateHash: keccak256(stringToHex('cert-d1')) }] })
  const started = await cw(['gateway', 'round', 'start', '--config', gatewayJson, '--json'])
  t.equal(started.code, 0, started.stderr)
  t.match(JSON.parse(started.stdout), { round: 1, participants: 1 })
  // (In process and over HTTP: a CLI process may take longer to start than the round lasts.)
  await t.rejects((daemon as GatewayDaemon).startRound(), { code: 'CW_ROUND_RUNNING' }, 'a second start while the round runs is refused')
  const again = await fetch(`${(daemon as GatewayDaemon).url}/rounds`, { method: 'POST' })
  t.equal(again.status, 409)
  t.match(await again.json(), { error: { code: 'CW_ROUND_RUNNING' } })

  // Nobody answers: the round closes at its deadline, with nothing to settle.
  const deadline = Date.now() + 60_000
  let round = (await (daemon as GatewayDaemon).status()).rounds[0]
  while (round?.state !== 'done' && Date.now() < deadline) {
    await sleep(200)
    round = (await (daemon as GatewayDaemon).status()).rounds[0]
  }
  t.match(round, { round: 1, state: 'done', accepted: 0, settlement: 'skipped' })
  t.equal((await (daemon as GatewayDaemon).status()).state, 'idle')
})

t.test('the API refuses bad requests and keeps serving', async (t) => {
  const url = (daemon as GatewayDaemon).url
  t.equal((await fetch(`${url}/nowhere`)).status, 404)
  t.equal((await fetch(`${url}/status`, { method: 'DELETE' })).status, 405)
  const big = await fetch(`${url}/rounds`, { method: 'POST', body: 'x'.repeat(64 * 1024) })
  t.equal(big.status, 413)
  const unknown = await fetch(`${url}/rounds`, { method: 'POST', body: '{"round":9}' })
  t.equal(unknown.status, 400)
  t.match(await unknown.json(), { error: { code: 'CW_API_REQUEST' } })
  const metrics = await fetch(`${url}/metrics`)
  t.equal(metrics.status, 200)
  t.match(await metrics.text(), /# TYPE/)
  t.equal((await fetch(`${url}/status`)).status, 200, 'still serving')
})

t.test('a bad gateway.json is refused, naming the field', async (t) => {
  t.throws(() => parseGatewayConfig({ ...gatewayConfig, rounds: { ...gatewayConfig.rounds, config: { strategy: { name: 'no-such-strategy' } } } }, gatewayJson), {
    code: 'CW_CONFIG',
    message: /rounds\.config\.strategy/,
  })
  t.throws(() => parseGatewayConfig({ ...gatewayConfig, api: { host: '0.0.0.0' } }, gatewayJson), { code: 'CW_CONFIG', message: /api\.host/ })
  const missing = join(dir, 'missing-fleet.json')
  await writeJsonConfig(missing, { ...gatewayConfig, fleetFile: 'no-such-fleet.json', dataDir: 'other-data' })
  const refused = await cw(['gateway', 'start', '--config', missing])
  t.not(refused.code, 0)
  t.match(refused.stderr, /no-such-fleet\.json/)
  const usage = await cw(['gateway', 'start'])
  t.equal(usage.code, 2, 'no --config: a usage error')
})

t.test('cw gateway status with the daemon down: the offline view from the data directory', async (t) => {
  const before = await (daemon as GatewayDaemon).status()
  await (daemon as GatewayDaemon).stop()
  daemon = undefined
  const offline = await cw(['gateway', 'status', '--config', gatewayJson, '--json'])
  t.equal(offline.code, 0, offline.stderr)
  const o = JSON.parse(offline.stdout) as { running: boolean; peerId: string; state: string; model: { hash: string; accuracy: number | null }; genesis: { model: string }; rounds: { round: number; state: string; settlement: string | null }[] }
  t.equal(o.running, false)
  t.equal(o.peerId, before.peerId)
  t.equal(o.state, 'stopped')
  t.same(o.model, before.model, 'the model in force with its accuracy')
  t.equal(o.genesis.model, before.genesis.model)
  t.match(o.rounds, [{ round: 1, state: 'done', settlement: 'skipped' }])
  const human = await cw(['gateway', 'status', '--config', gatewayJson])
  t.match(human.stdout, /not running: the view from its data directory/)
  t.match(human.stdout, /round\s+1\s+done/)
  const never = join(dir, 'gateway-never.json')
  await writeJsonConfig(never, { ...gatewayConfig, dataDir: 'never-data' })
  const none = await cw(['gateway', 'status', '--config', never])
  t.equal(none.code, 1)
  t.match(none.stderr, /^error CW_GATEWAY_NOT_RUNNING: .*no gateway has run with this data directory/m)
})
