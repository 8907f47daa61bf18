// Rounds skipped politely, with real parts: the embedded EVM over HTTP, a real libp2p gateway node
// on 127.0.0.1, LevelDB, ONNX Runtime and replay sensors over CSVs. Two agents hear the same
// announcements: one has too few training samples at first (below training.minSamples after the
// validation split), the other asks for more free memory than the machine has. Each records the
// round as skipped with its reason in status.json's rounds, logs why, keeps running and inferring,
// and the first trains the next round once it has collected enough samples.
import { mkdtemp, rm } from 'node:fs/promises'
import { freemem, tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { signRoundAnnouncement } from '../../../protocols/index.js'
import type { VerifiedSubmission } from '../../../protocols/mesh/index.js'
import { settleGenesis } from '../../../gateway/daemon/index.js'
import { MemorySettlementJournal, signerToAccount } from '../../../gateway/settlement/index.js'
import { readAgentBundle, readAgentStatus, startAgentDaemon, type AgentDaemon, type AgentStatus } from '../../../edge-agent/daemon/index.js'
import type { RoundEntry } from '../../../edge-agent/daemon/agent-state.js'
import { logger as silent, makeDevice, recordingLogger, startTestChain, testModel, until, testGatewayNode, type TestDevice } from './agent-fixture.js'

const MIN_SAMPLES = 200
const UNREACHABLE_MEMORY = Number.MAX_SAFE_INTEGER

const dir = await mkdtemp(join(tmpdir(), 'cw-agent-round-skips-'))
const chain = await startTestChain()
const genesis = testModel(1)
await settleGenesis(chain.connection, { gateway: signerToAccount({ signer: chain.gateway }), ledger: chain.contracts.ledger, fleet: chain.fleet, model: genesis.hash, journal: new MemorySettlementJournal() })

const { gateway, submissions } = await testGatewayNode(chain, [genesis], silent)
await gateway.start()
const bootstrap = [String(gateway.multiaddrs[0])]

interface Running {
  device: TestDevice
  agent: AgentDaemon
  lines: Record<string, unknown>[]
  status(): AgentStatus
  round(n: string, status: RoundEntry['status']): RoundEntry | undefined
}
const start = async (device: TestDevice): Promise<Running> => {
  const { logger, lines } = recordingLogger()
  const agent = await startAgentDaemon(await readAgentBundle(device.file), { logger })
  return { device, agent, lines, status: () => agent.status(), round: (n, s) => agent.status().rounds.find((r) => r.round === n && r.status === s) }
}

// 25 rows a second, for the whole test: the dataset grows from too small to big enough.
const sparse = await start(
  await makeDevice({ chain, dir: join(dir, 'sparse'), bootstrap, speed: 0.5, loop: true, agent: { training: { minSamples: MIN_SAMPLES, minFreeMemoryBytes: 0 } } }),
)
const starved = await start(
  await makeDevice({ chain, dir: join(dir, 'starved'), bootstrap, speed: 0.5, loop: true, agent: { training: { minSamples: 1, minFreeMemoryBytes: UNREACHABLE_MEMORY } } }),
)

t.teardown(async () => {
  await sparse.agent.stop()
  await starved.agent.stop()
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
const skipLogged = (agent: Running, round: string): Record<string, unknown> | undefined => agent.lines.find((l) => l.msg === 'round skipped' && l.round === round)

for (const a of [sparse, starved])
  await until(() => gateway.libp2p.services.pubsub.getSubscribers(gateway.topics.rounds).some((p) => p.toString() === a.agent.peerId), 20_000, 'the agents to subscribe')

t.test('both agents run the settled genesis model', async (t) => {
  await gateway.announceModel(genesis.hash)
  for (const a of [sparse, starved]) await until(() => a.status().model === genesis.hash && a.status().inference.runs > 0, 30_000, 'the genesis model and inference')
  t.ok(sparse.status().samples < MIN_SAMPLES / 2, `few samples yet: ${sparse.status().samples}`)
})

t.test('a round is skipped for too few samples, and for low memory; both agents keep running', async (t) => {
  await announce(1n)
  const few = await until(() => sparse.round('1', 'skipped'), 30_000, 'round 1 skipped for too few samples')
  const match = /^too-few-samples: (\d+) of (\d+)$/.exec(few.reason ?? '')
  t.ok(match, `reason: ${few.reason}`)
  t.ok(Number(match?.[1]) < MIN_SAMPLES, 'fewer training samples than asked')
  t.equal(Number(match?.[2]), MIN_SAMPLES)
  t.equal(few.baseModel, genesis.hash)
  t.equal(skipLogged(sparse, '1')?.reason, few.reason, 'the reason is logged')

  const low = await until(() => starved.round('1', 'skipped'), 30_000, 'round 1 skipped for low memory')
  const memory = /^low-memory: (\d+) bytes available, (\d+) needed$/.exec(low.reason ?? '')
  t.ok(memory, `reason: ${low.reason}`)
  t.ok(Number(memory?.[1]) > 0 && Number(memory?.[1]) <= freemem() * 4, 'the available memory is reported')
  t.equal(Number(memory?.[2]), UNREACHABLE_MEMORY)
  t.equal(skipLogged(starved, '1')?.reason, low.reason, 'the reason is logged')

  t.equal(submissions.length, 0, 'nothing was trained or sent')
  for (const a of [sparse, starved]) {
    // The round's entry is written just before the agent leaves its round state.
    await until(() => a.status().state === 'running', 5_000, 'the agent back to running')
    t.equal(a.status().model, genesis.hash)
    t.equal(a.status().rounds.filter((r) => r.round === '1').length, 1, 'one entry for the round')
    const runs = a.status().inference.runs
    await until(() => a.status().inference.runs > runs + 10, 20_000, 'inference to go on')
    await until(async () => (await readAgentStatus(a.device.statusFile, 250)).status.rounds.some((r) => r.round === '1' && r.status === 'skipped'), 5_000, 'status.json')
    t.equal((await readAgentStatus(a.device.statusFile, 250)).running, true, 'status.json says it runs')
  }
})

t.test('with enough samples the next round is trained; low memory still skips it', async (t) => {
  // About a fifth is held out for validation.
  await until(() => sparse.status().samples >= MIN_SAMPLES * 1.5, 30_000, 'enough samples')
  await announce(2n)
  const entry = await until(() => sparse.round('2', 'receipt-accepted'), 60_000, 'round 2 trained and receipted')
  t.ok(entry.attestationHash, 'the update was signed')
  t.equal(submissions.length, 1, 'one update')
  t.equal((submissions[0] as VerifiedSubmission).attestation.message.device, sparse.device.address)
  t.equal((submissions[0] as VerifiedSubmission).attestation.message.round, 2n)
  t.ok(Number((submissions[0] as VerifiedSubmission).attestation.message.sampleCount) >= MIN_SAMPLES)

  const low = await until(() => starved.round('2', 'skipped'), 30_000, 'round 2 skipped for low memory')
  t.match(low.reason, /^low-memory: /)
  await until(() => starved.status().state === 'running', 5_000, 'the agent back to running')
  t.same(
    starved.status().rounds.map((r) => [r.round, r.status]),
    [
      ['1', 'skipped'],
      ['2', 'skipped'],
    ],
  )
})

t.test('stop', async (t) => {
  for (const a of [sparse, starved]) {
    await a.agent.stop()
    t.equal(a.status().state, 'stopped')
  }
})

