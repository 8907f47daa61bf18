// Model provenance, with real parts: the embedded EVM over HTTP, a real libp2p gateway node on
// 127.0.0.1, LevelDB, ONNX Runtime and a replay sensor over a CSV. An authorised gateway that
// announces a model it never settled (as a round's base model and on the models topic) gets it
// refused: the agent keeps running the settled model, keeps inferring, and still takes part in
// the next round and adopts the next model that is settled.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { keccak256, toHex, type Hex } from 'viem'
import { signRoundAnnouncement, verifyInferenceAttestation, type Signed } from '../../../protocols/index.js'
import type { VerifiedSubmission } from '../../../protocols/mesh/index.js'
import { settleGenesis } from '../../../gateway/daemon/index.js'
import { MemorySettlementJournal, settleRound, signerToAccount } from '../../../gateway/settlement/index.js'
import { readAgentBundle, readAgentStatus, startAgentDaemon, type AgentDaemon, type AgentStatus } from '../../../edge-agent/daemon/index.js'
import { logger, makeDevice, startTestChain, testModel, testGatewayNode, until } from './agent-fixture.js'

const dir = await mkdtemp(join(tmpdir(), 'cw-agent-provenance-'))
const chain = await startTestChain()
const gatewayAccount = signerToAccount({ signer: chain.gateway })
const genesis = testModel(1)
const rogue = testModel(2)
const next = testModel(3)
const journal = new MemorySettlementJournal()
await settleGenesis(chain.connection, { gateway: gatewayAccount, ledger: chain.contracts.ledger, fleet: chain.fleet, model: genesis.hash, journal })

// The gateway's node: it serves all three models, and takes updates (accepting them) with receipts.
const { gateway, submissions } = await testGatewayNode(chain, [genesis, rogue, next])
const events: Signed<'InferenceAttestation'>[] = []
await gateway.start()
gateway.addEventListener('event', (evt) => events.push((evt as CustomEvent<{ attestation: Signed<'InferenceAttestation'> }>).detail.attestation))

const device = await makeDevice({ chain, dir: join(dir, 'device'), bootstrap: [String(gateway.multiaddrs[0])], speed: 2, loop: true, agent: { rollbackMargin: 1 } })
const agentBundle = await readAgentBundle(device.file)
const agent: AgentDaemon = await startAgentDaemon(agentBundle, { logger })

t.teardown(async () => {
  await agent.stop()
  await gateway.stop()
  await chain.close()
  await rm(dir, { recursive: true, force: true })
})

const status = (): AgentStatus => agent.status()
const announce = async (round: bigint, baseModel: Hex): Promise<void> => {
  const announcement = await signRoundAnnouncement({
    domain: agentBundle.bundle.fleet.domain,
    signer: chain.gateway,
    message: { fleet: chain.fleet, round, gateway: chain.gateway.address, baseModel, strategy: 'fedavg', params: JSON.stringify({ localEpochs: 2 }), deadline: BigInt(Math.floor(Date.now() / 1000) + 120), selectionSeed: `0x${'5e'.repeat(32)}`, selectionRule: '{"fraction":1,"max":10000,"min":1}', eligibleBlock: 0n, participantsRoot: `0x${'9a'.repeat(32)}`, privacy: '' },
  })
  await gateway.publishAnnouncement(announcement)
}

await until(() => gateway.libp2p.services.pubsub.getSubscribers(gateway.topics.models).some((p) => p.toString() === agent.peerId), 20_000, 'the agent to subscribe')

t.test('the agent adopts the settled genesis model and infers with signed attestations', async (t) => {
  t.equal(status().model, null, 'no model before the fleet offers one')
  await gateway.announceModel(genesis.hash)
  await until(() => status().model === genesis.hash, 30_000, 'the genesis model')
  t.equal(status().modelRound, '0')
  await until(() => status().inference.runs > 5 && events.length > 0, 20_000, 'inference and an attestation')
  const event = events[0] as Signed<'InferenceAttestation'>
  t.equal(event.message.device, device.address)
  t.equal(event.message.model, genesis.hash)
  t.ok(verifyInferenceAttestation({ domain: agentBundle.bundle.fleet.domain, ...event }), 'the attestation is signed by the device key')
  await until(() => status().samples >= 32, 20_000, 'samples in the dataset')
})

t.test('a model the gateway never settled is refused, and the old one keeps running', async (t) => {
  const before = status().inference.runs
  await announce(1n, rogue.hash)
  await gateway.announceModel(rogue.hash)
  const skipped = await until(() => status().rounds.find((r) => r.round === '1' && r.status === 'skipped'), 30_000, 'round 1 to be skipped')
  t.equal(skipped.reason, 'base-model-not-settled')
  await until(() => status().refused.some((r) => r.model === rogue.hash && r.reason === 'not-settled'), 10_000, 'the rogue model to be refused')
  t.equal(status().model, genesis.hash, 'still the settled model')
  t.equal(submissions.length, 0, 'nothing trained on the unsettled model')
  await until(() => status().inference.runs > before + 5, 20_000, 'inference to go on')
  t.equal(status().model, genesis.hash)
  // status.json says the same.
  await until(async () => (await readAgentStatus(device.statusFile, 250)).status.refused.some((r) => r.model === rogue.hash), 5_000, 'status.json')
  const onDisk = await readAgentStatus(device.statusFile, 250)
  t.equal(onDisk.running, true)
  t.equal(onDisk.status.model, genesis.hash)
})

t.test('the agent keeps working: it trains the next round and adopts the next settled model', async (t) => {
  await announce(2n, genesis.hash)
  const entry = await until(() => status().rounds.find((r) => r.round === '2' && r.status === 'receipt-accepted'), 60_000, 'round 2 update receipted')
  t.ok(entry.attestationHash, 'the update was signed')
  t.equal(submissions.length, 1)
  const s = submissions[0] as VerifiedSubmission
  t.equal(s.attestation.message.device, device.address)
  t.equal(s.attestation.message.baseModel, genesis.hash)
  t.equal(s.attestation.message.round, 2n)
  t.equal(s.attestationHash, entry.attestationHash)
  t.equal(status().outbox.pending, 0, 'the outbox is empty once the receipt came back')

  // The gateway settles a new model; the agent checks it on chain and swaps, without stopping inference.
  await settleRound(chain.connection, {
    gateway: gatewayAccount,
    ledger: chain.contracts.ledger,
    journal,
    settlement: { fleet: chain.fleet, round: 1n, parentModel: genesis.hash, newModel: next.hash, contributionsRoot: keccak256(toHex('root')), rewardTotal: 10n, recordHash: keccak256(toHex('record')) },
  })
  const runs = status().inference.runs
  await gateway.announceModel(next.hash)
  await until(() => status().model === next.hash, 30_000, 'the settled model')
  t.equal(status().modelRound, '1')
  await until(() => status().inference.runs > runs + 5, 20_000, 'inference across the swap')
  await gateway.announceModel(rogue.hash)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal(status().model, next.hash, 'the unsettled model is still refused')
})

t.test('stop writes a final status', async (t) => {
  await agent.stop()
  const final = JSON.parse(await readFile(device.statusFile, 'utf8')) as AgentStatus
  t.equal(final.state, 'stopped')
  t.equal(final.model, next.hash)
  const state = JSON.parse(await readFile(device.stateFile, 'utf8')) as { model: Hex }
  t.equal(state.model, next.hash, 'the model is remembered for the next start')
})
