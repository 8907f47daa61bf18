// A revoked device knows it, with real parts: the embedded EVM over HTTP, a real libp2p gateway
// node on 127.0.0.1 that answers the device's update with a signed `revoked` receipt, LevelDB,
// ONNX Runtime and a replay sensor. After that receipt the agent says so in its log, in its status
// (and status.json), trains no later round, and goes on inferring on its settled model.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { signRoundAnnouncement } from '../../../protocols/index.js'
import { settleGenesis } from '../../../gateway/daemon/index.js'
import { MemorySettlementJournal, signerToAccount } from '../../../gateway/settlement/index.js'
import { readAgentBundle, readAgentStatus, startAgentDaemon } from '../../../edge-agent/daemon/index.js'
import { logger as silent, makeDevice, recordingLogger, startTestChain, testModel, until, testGatewayNode } from './agent-fixture.js'

const dir = await mkdtemp(join(tmpdir(), 'cw-agent-revoked-'))
const chain = await startTestChain()
const genesis = testModel(1)
await settleGenesis(chain.connection, { gateway: signerToAccount({ signer: chain.gateway }), ledger: chain.contracts.ledger, fleet: chain.fleet, model: genesis.hash, journal: new MemorySettlementJournal() })
const { gateway, submissions } = await testGatewayNode(chain, [genesis], silent, () => ({ accepted: false, reason: 'revoked' }))
await gateway.start()
const device = await makeDevice({ chain, dir: join(dir, 'd'), bootstrap: [String(gateway.multiaddrs[0])], speed: 1, loop: true, agent: { training: { minSamples: 1, minFreeMemoryBytes: 0 } } })
const { logger, lines } = recordingLogger()
const agent = await startAgentDaemon(await readAgentBundle(device.file), { logger })
t.teardown(async () => {
  await agent.stop()
  await gateway.stop()
  await chain.close()
  await rm(dir, { recursive: true, force: true })
})

const announce = async (round: bigint): Promise<void> => {
  const announcement = await signRoundAnnouncement({
    domain: { name: 'Counterweight', version: '1', chainId: chain.chainId, verifyingContract: chain.contracts.registry },
    signer: chain.gateway,
    message: { fleet: chain.fleet, round, gateway: chain.gateway.address, baseModel: genesis.hash, strategy: 'fedavg', params: JSON.stringify({ localEpochs: 1 }), deadline: BigInt(Math.floor(Date.now() / 1000) + 120), selectionSeed: `0x${'5e'.repeat(32)}`, selectionRule: '{"fraction":1,"max":10000,"min":1}', eligibleBlock: 0n, participantsRoot: `0x${'9a'.repeat(32)}`, privacy: '' },
  })
  await gateway.publishAnnouncement(announcement)
}

await until(() => gateway.libp2p.services.pubsub.getSubscribers(gateway.topics.rounds).some((p) => p.toString() === agent.peerId), 20_000, 'the agent to subscribe')

t.test('a revoked receipt stops training; inference goes on', async (t) => {
  t.equal(agent.status().revoked, null, 'not revoked at first')
  await gateway.announceModel(genesis.hash)
  await until(() => agent.status().model === genesis.hash && agent.status().samples > 20, 30_000, 'the genesis model and some samples')
  await announce(1n)
  await until(() => agent.status().rounds.find((r) => r.round === '1' && r.status === 'receipt-rejected'), 90_000, 'round 1 refused as revoked')
  const revoked = await until(() => agent.status().revoked, 10_000, 'the agent to know it is revoked')
  t.equal(revoked?.round, '1')
  t.ok(lines.some((l) => l.msg === 'device revoked (a gateway refused its update as revoked): training stopped; inference goes on'), 'it says so in its log')
  t.equal(submissions.length, 1)

  await announce(2n)
  await announce(3n)
  const runs = agent.status().inference.runs
  await until(() => agent.status().inference.runs > runs + 10, 30_000, 'inference to go on')
  t.notOk(agent.status().rounds.some((r) => r.round === '2' || r.round === '3'), 'later rounds are not taken up')
  t.equal(submissions.length, 1, 'nothing more was trained or sent')
  await until(async () => (await readAgentStatus(device.statusFile, 250)).status.revoked !== null, 10_000, 'status.json to say it')
})

t.test('a restart remembers it', async (t) => {
  await agent.stop()
  const again = await startAgentDaemon(await readAgentBundle(device.file), { logger: silent })
  t.match(again.status().revoked, { round: '1' })
  await again.stop()
})
