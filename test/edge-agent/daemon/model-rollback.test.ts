// Model rollback, with real parts: the embedded EVM over HTTP, a real libp2p gateway node on
// 127.0.0.1, LevelDB, ONNX Runtime and a replay sensor over a CSV. Every model here is settled on
// chain, and their weights are set by hand so that their accuracy on the device's data is known:
// a settled model that scores worse than the running one on the device's own validation split by
// more than rollbackMargin is refused before any swap (the old model keeps running and inference
// goes on); one that is worse within the margin, or better, is adopted.
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { keccak256, toHex, type Hex } from 'viem'
import type { Signed } from '../../../protocols/index.js'
import { settleGenesis } from '../../../gateway/daemon/index.js'
import { MemorySettlementJournal, settleRound, signerToAccount } from '../../../gateway/settlement/index.js'
import { readAgentBundle, readAgentStatus, startAgentDaemon, type AgentDaemon, type AgentStatus } from '../../../edge-agent/daemon/index.js'
import { clusterModel, logger as silent, makeDevice, recordingLogger, startTestChain, testGatewayNode, until } from './agent-fixture.js'

const MARGIN = 0.5
// Accuracy 1: each class reads the hidden unit of its own cluster.
const genesis = clusterModel([
  [10, 0, 0],
  [0, 10, 0],
  [0, 0, 10],
])
// Accuracy 0: the read-out rows scrambled, every cluster is taken for the next one.
const scrambled = clusterModel([
  [0, 10, 0],
  [0, 0, 10],
  [10, 0, 0],
])
// Accuracy about 2/3: cluster 2 is taken for class 0, class 2 is never chosen. Worse, within MARGIN.
const twoThirds = clusterModel(
  [
    [10, 0, 10],
    [0, 10, 0],
    [0, 0, 0],
  ],
  [0, 0, -10],
)
// Accuracy 1 again: better than twoThirds.
const better = clusterModel([
  [5, 0, 0],
  [0, 5, 0],
  [0, 0, 5],
])

const dir = await mkdtemp(join(tmpdir(), 'cw-agent-rollback-'))
const chain = await startTestChain()
const gatewayAccount = signerToAccount({ signer: chain.gateway })
const journal = new MemorySettlementJournal()
await settleGenesis(chain.connection, { gateway: gatewayAccount, ledger: chain.contracts.ledger, fleet: chain.fleet, model: genesis.hash, journal })
const settle = (round: bigint, parentModel: Hex, newModel: Hex) =>
  settleRound(chain.connection, {
    gateway: gatewayAccount,
    ledger: chain.contracts.ledger,
    journal,
    settlement: { fleet: chain.fleet, round, parentModel, newModel, contributionsRoot: keccak256(toHex(`root ${round}`)), rewardTotal: 10n, recordHash: keccak256(toHex(`record ${round}`)) },
  })

const { gateway } = await testGatewayNode(chain, [genesis, scrambled, twoThirds, better], silent)
const events: Signed<'InferenceAttestation'>[] = []
await gateway.start()
gateway.addEventListener('event', (evt) => events.push((evt as CustomEvent<{ attestation: Signed<'InferenceAttestation'> }>).detail.attestation))

const device = await makeDevice({ chain, dir: join(dir, 'device'), bootstrap: [String(gateway.multiaddrs[0])], speed: 2, loop: true, agent: { rollbackMargin: MARGIN } })
const agentBundle = await readAgentBundle(device.file)
const { logger, lines } = recordingLogger()
const agent: AgentDaemon = await startAgentDaemon(agentBundle, { logger })

// Every model the agent ran, sampled all along: a refused one must never show up.
const seen = new Set<Hex | null>()
const sampler = setInterval(() => seen.add(agent.status().model), 10)

t.teardown(async () => {
  clearInterval(sampler)
  await agent.stop()
  await gateway.stop()
  await chain.close()
  await rm(dir, { recursive: true, force: true })
})

const status = (): AgentStatus => agent.status()
const logged = (msg: string, model: Hex): Record<string, unknown> | undefined => lines.find((l) => l.msg === msg && l.model === model)

await until(() => gateway.libp2p.services.pubsub.getSubscribers(gateway.topics.models).some((p) => p.toString() === agent.peerId), 20_000, 'the agent to subscribe')

t.test('the agent runs the settled genesis model and collects a validation split', async (t) => {
  await gateway.announceModel(genesis.hash)
  await until(() => status().model === genesis.hash, 30_000, 'the genesis model')
  t.equal(status().modelRound, '0')
  // About a fifth of the samples are held out: enough for the scores below to be far from the margin.
  await until(() => status().samples >= 400, 30_000, 'samples in the dataset')
  await until(() => status().inference.runs > 20, 20_000, 'inference')
})

t.test('a settled model that is worse by more than the margin is refused; the old model keeps running', async (t) => {
  await settle(1n, genesis.hash, scrambled.hash)
  await gateway.announceModel(scrambled.hash)
  const refusal = await until(() => status().refused.find((r) => r.model === scrambled.hash), 30_000, 'the scrambled model to be refused')
  t.equal(refusal.reason, 'worse', 'refused as worse, not as unsettled')
  t.equal(refusal.detail, `0.0000 < 1.0000 - ${MARGIN}`, 'it scored 0 against the current model’s 1')
  const line = logged('model refused: worse on this device’s validation split; keeping the current model', scrambled.hash)
  t.ok(line, 'the refusal is logged')
  t.equal(line?.score, 0)
  t.equal(line?.currentScore, 1)
  t.equal(line?.current, genesis.hash)
  t.ok((line?.samples as number) >= 40, `scored on ${String(line?.samples)} validation samples`)

  t.equal(status().model, genesis.hash, 'still the genesis model')
  t.equal(status().modelRound, '0')
  t.notOk(seen.has(scrambled.hash), 'the scrambled model never ran, not even for a moment')
  const runs = status().inference.runs
  const attested = events.length
  await until(() => status().inference.runs > runs + 20 && events.length > attested + 2, 20_000, 'inference to go on')
  t.ok(
    events.slice(attested).every((e) => e.message.model === genesis.hash),
    'attestations after the refusal name the genesis model',
  )
  t.equal(state().model, genesis.hash, 'state.json keeps the genesis model')

  // Offered again, it is not evaluated again (for REFUSED_WORSE_MS) and stays refused.
  const refusedAt = refusal.at
  await gateway.announceModel(scrambled.hash)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal(status().model, genesis.hash)
  t.equal(status().refused.find((r) => r.model === scrambled.hash)?.at, refusedAt)
  t.equal(lines.filter((l) => l.msg === line?.msg).length, 1, 'scored once')

  await until(async () => (await readAgentStatus(device.statusFile, 250)).status.refused.some((r) => r.model === scrambled.hash && r.reason === 'worse'), 5_000, 'status.json')
  const onDisk = await readAgentStatus(device.statusFile, 250)
  t.equal(onDisk.running, true)
  t.equal(onDisk.status.model, genesis.hash)
})

t.test('a settled model that is worse within the margin is adopted', async (t) => {
  await settle(2n, genesis.hash, twoThirds.hash)
  const runs = status().inference.runs
  await gateway.announceModel(twoThirds.hash)
  await until(() => status().model === twoThirds.hash, 30_000, 'the within-margin model')
  t.equal(status().modelRound, '2')
  const line = logged('model scored on the validation split', twoThirds.hash)
  t.ok(line, 'it was scored before the swap')
  const [score, currentScore] = [line?.score as number, line?.currentScore as number]
  t.equal(currentScore, 1)
  t.ok(score < currentScore, `worse: ${score}`)
  t.ok(score >= currentScore - MARGIN, `within the margin: ${score} ≥ ${currentScore} - ${MARGIN}`)
  t.notOk(status().refused.some((r) => r.model === twoThirds.hash))
  await until(() => status().inference.runs > runs + 20, 20_000, 'inference across the swap')
})

t.test('a settled model that is better is adopted', async (t) => {
  await settle(3n, twoThirds.hash, better.hash)
  const runs = status().inference.runs
  await gateway.announceModel(better.hash)
  await until(() => status().model === better.hash, 30_000, 'the better model')
  t.equal(status().modelRound, '3')
  const line = logged('model scored on the validation split', better.hash)
  t.equal(line?.score, 1)
  t.ok((line?.currentScore as number) < 1, 'the model it replaced scored lower')
  await until(() => status().inference.runs > runs + 20, 20_000, 'inference across the swap')
  const attested = events.length
  await until(() => events.length > attested + 1, 10_000, 'an attestation')
  t.equal(events.at(-1)?.message.model, better.hash, 'attestations name the new model')
  t.same([...seen].filter((m) => m !== null).sort(), [genesis.hash, twoThirds.hash, better.hash].sort(), 'only adopted models ever ran')
})

t.test('stop keeps the adopted model for the next start', async (t) => {
  await agent.stop()
  t.equal(state().model, better.hash)
  t.equal(state().modelRound, '3')
})

function state(): { model: Hex; modelRound: string } {
  return JSON.parse(readFileSync(device.stateFile, 'utf8')) as { model: Hex; modelRound: string }
}
