// The data owner's privacy budget, with real parts: the embedded EVM over HTTP, a real libp2p
// gateway node on 127.0.0.1, LevelDB, ONNX Runtime and a replay sensor. The device's policy allows
// ε = 3 at δ = 1e-5 and σ ≥ 1. A device-DP round at σ = 2 is trained, its update clipped and
// noised before it is signed (the signed update's spread is that of N(0, (σC)²)); the next such
// round would take ε past 3 and is refused with its reason, as are rounds with too little noise
// and without DP; the agent keeps serving inference, status.json, the console line and
// `cw agent status` show ε spent and left, and the ledger survives a restart.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { contentId, decodeUpdate, encodeRoundPrivacy, ledgerEpsilon, signRoundAnnouncement, type RoundPrivacy } from '../../../protocols/index.js'
import type { VerifiedSubmission } from '../../../protocols/mesh/index.js'
import { settleGenesis } from '../../../gateway/daemon/index.js'
import { MemorySettlementJournal, signerToAccount } from '../../../gateway/settlement/index.js'
import { readAgentBundle, startAgentDaemon, type AgentDaemon } from '../../../edge-agent/daemon/index.js'
import { privacyText } from '../../../edge-agent/daemon/privacy-budget.js'
import { logger as silent, makeDevice, recordingLogger, startTestChain, testModel, until, testGatewayNode } from './agent-fixture.js'
import { runCw } from '../../helpers/run-cw.js'

const POLICY = { maxEpsilon: 3, delta: 1e-5, minNoiseMultiplier: 1 }
const DP: RoundPrivacy = { mode: 'device', clipNorm: 1, noiseMultiplier: 2, sampleRate: 1, delta: 1e-5 }

const dir = await mkdtemp(join(tmpdir(), 'cw-agent-privacy-'))
const chain = await startTestChain()
const genesis = testModel(1)
await settleGenesis(chain.connection, { gateway: signerToAccount({ signer: chain.gateway }), ledger: chain.contracts.ledger, fleet: chain.fleet, model: genesis.hash, journal: new MemorySettlementJournal() })
const { gateway, submissions } = await testGatewayNode(chain, [genesis], silent)
await gateway.start()
const device = await makeDevice({ chain, dir: join(dir, 'device'), bootstrap: [String(gateway.multiaddrs[0])], speed: 'max', loop: true, agent: { privacy: POLICY, training: { minSamples: 1, minFreeMemoryBytes: 0 } } })

let agent: AgentDaemon
let lines: Record<string, unknown>[]
const startAgent = async () => {
  const recording = recordingLogger()
  lines = recording.lines
  agent = await startAgentDaemon(await readAgentBundle(device.file), { logger: recording.logger })
  await until(() => gateway.libp2p.services.pubsub.getSubscribers(gateway.topics.rounds).some((p) => p.toString() === agent.peerId), 20_000, 'the agent to subscribe')
}
await startAgent()

t.teardown(async () => {
  await agent.stop()
  await gateway.stop()
  await chain.close()
  await rm(dir, { recursive: true, force: true })
})

const announce = async (round: bigint, privacy: RoundPrivacy | undefined): Promise<void> => {
  const announcement = await signRoundAnnouncement({
    domain: { name: 'Counterweight', version: '1', chainId: chain.chainId, verifyingContract: chain.contracts.registry },
    signer: chain.gateway,
    message: { fleet: chain.fleet, round, gateway: chain.gateway.address, baseModel: genesis.hash, strategy: 'fedavg', params: JSON.stringify({ localEpochs: 1 }), deadline: BigInt(Math.floor(Date.now() / 1000) + 120), selectionSeed: `0x${'5e'.repeat(32)}`, selectionRule: '{"fraction":1,"max":10000,"min":1}', eligibleBlock: 0n, participantsRoot: `0x${'9a'.repeat(32)}`, privacy: encodeRoundPrivacy(privacy) },
  })
  await gateway.publishAnnouncement(announcement)
}
const entry = (n: string, status: string) => agent.status().rounds.find((r) => r.round === n && r.status === status)
/** The round's outcome, once the agent has left the round (a round announced while it is in one is skipped as busy). */
const refusal = async (n: string): Promise<string | undefined> => {
  const e = await until(() => entry(n, 'skipped'), 30_000, `round ${n} refused`)
  await until(() => agent.status().state === 'running', 5_000, 'back to running')
  return e.reason
}

t.test('the agent runs the genesis model and starts with nothing spent', async (t) => {
  await gateway.announceModel(genesis.hash)
  await until(() => agent.status().model === genesis.hash && agent.status().inference.runs > 0 && agent.status().samples > 20, 30_000, 'the genesis model, inference and samples')
  t.match(agent.status().privacy, { epsilonSpent: 0, epsilonLeft: 3, maxEpsilon: 3, delta: 1e-5, rounds: 0 })
})

t.test('a DP round within budget is trained: the signed update is clipped and noised', async (t) => {
  await announce(1n, DP)
  await until(() => entry('1', 'receipt-accepted'), 60_000, 'round 1 trained and receipted')
  t.equal(submissions.length, 1)
  const submission = submissions[0] as VerifiedSubmission
  t.equal(contentId(submission.update), submission.attestation.message.updateHash, 'the signed hash is of the noised update')
  const values = decodeUpdate(submission.update).tensors.flatMap((x) => Array.from(x.data))
  // The clean delta is clipped to C = 1; the noise adds N(0, (σC)²) = N(0, 4) per coordinate, so
  // the root mean square is 2 within sampling error (relative 1/√(2n)), the mean near 0.
  const n = values.length
  const rms = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / n)
  const mean = values.reduce((s, v) => s + v, 0) / n
  const expected = DP.noiseMultiplier * DP.clipNorm
  const slack = 4 / Math.sqrt(2 * n)
  t.ok(rms > expected * (1 - slack) && rms < expected * (1 + slack) + DP.clipNorm / Math.sqrt(n), `RMS ${rms.toFixed(3)} over ${n} weights, noise std ${expected}`)
  t.ok(Math.abs(mean) < (4 * expected) / Math.sqrt(n) + DP.clipNorm / Math.sqrt(n), `mean ${mean.toFixed(3)} near 0`)
  const spent = ledgerEpsilon([{ sampleRate: 1, noiseMultiplier: 2, rounds: 1 }], POLICY.delta)
  t.ok(Math.abs(agent.status().privacy.epsilonSpent - spent) < 1e-12, `ε spent ${spent}`)
  t.ok(Math.abs((agent.status().privacy.epsilonLeft ?? 0) - (3 - spent)) < 1e-12)
  const ledger = JSON.parse(await readFile(join(device.dataDir, 'privacy.json'), 'utf8')) as unknown
  t.same(ledger, { version: 1, ledger: [{ sampleRate: 1, noiseMultiplier: 2, rounds: 1 }], rounds: ['1'] }, 'privacy.json holds the ledger')
})

t.test('rounds that would break the policy are refused with their reason; the agent keeps serving', async (t) => {
  await announce(2n, DP)
  t.match(await refusal('2'), /^privacy-budget-exceeded: ε would reach \d+\.\d+ at δ=0\.00001, over the budget of 3/)
  t.ok(lines.some((l) => l.msg === 'round refused: privacy policy' && l.reason === 'privacy-budget-exceeded'), 'logged')
  await announce(3n, { ...DP, noiseMultiplier: 0.5 })
  t.match(await refusal('3'), /^privacy-noise-too-low: noise multiplier 0\.5 is below the accepted 1/)
  await announce(4n, undefined)
  t.match(await refusal('4'), /^privacy-not-announced: /)
  await announce(5n, { ...DP, mode: 'central' })
  t.match(await refusal('5'), /^privacy-central-refused: /)
  t.equal(submissions.length, 1, 'nothing more was trained or sent')
  await until(() => agent.status().state === 'running', 5_000, 'back to running')
  const runs = agent.status().inference.runs
  await until(() => agent.status().inference.runs > runs + 5, 20_000, 'inference to go on')
  t.equal(agent.status().privacy.rounds, 1, 'refused rounds spend nothing')
})

t.test('cw agent status and the console line show ε spent and left', async (t) => {
  const spent = agent.status().privacy
  t.match(privacyText(spent), /^ε spent \d\.\d{3} at δ=0\.00001 over 1 DP round, \d\.\d{3} of 3 left \(σ ≥ 1\)$/)
  await until(async () => (JSON.parse(await readFile(device.statusFile, 'utf8')) as { privacy?: { rounds: number } }).privacy?.rounds === 1, 10_000, 'status.json')
  const run = await runCw(['agent', 'status', '--config', device.file])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, new RegExp(`privacy  ε spent ${spent.epsilonSpent.toFixed(3)} at δ=0.00001 over 1 DP round, ${(spent.epsilonLeft ?? 0).toFixed(3)} of 3 left`))
})

t.test('the ledger survives a restart: the budget still refuses', async (t) => {
  await agent.stop()
  await startAgent()
  t.equal(agent.status().privacy.rounds, 1)
  await announce(6n, DP)
  t.match(await refusal('6'), /^privacy-budget-exceeded: /)
})
