// A RoundRunner with the validation evaluator: a round whose aggregate scores worse than its parent
// by more than the margin keeps the parent; otherwise the aggregate is adopted. Real level store,
// real signed submissions through the verifier, real ONNX Runtime sessions.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import type { Address } from 'viem'
import { createEngine } from '../../../hardware/inference/index.js'
import {
  FedAvg,
  buildDigitsMlp,
  contentId,
  decodeModel,
  decodeRoundRecord,
  decodeSubmission,
  encodeModel,
  encodeSubmission,
  encodeUpdate,
  readInitializers,
  signMessage,
  type NamedTensor,
} from '../../../protocols/index.js'
import { permutation, seededGenerator, train } from '../../../edge-agent/training/index.js'
import { RoundRunner, RoundStore, createValidationEvaluator, type RoundMeta } from '../../../gateway/rounds/index.js'
import { InMemoryRegistry, verifySubmission } from '../../../gateway/verify/index.js'
import { loadDigits, subset } from '../../helpers/datasets.js'
import { NOW, PEER, devices, domain, fleet, gateway, owner } from './fixtures/round-fleet.js'

const DEVICES = 3
const digits = loadDigits()
const order = permutation(digits.count, seededGenerator(9))
const validationPart = subset(digits, order.subarray(0, 360))
const shards = Array.from({ length: DEVICES }, (_, i) => subset(digits, order.subarray(360 + i * 400, 360 + (i + 1) * 400)))
const evaluate = createValidationEvaluator({
  validation: { features: validationPart.features, labels: validationPart.labels, width: 64 },
  createEngine: () => createEngine({ engine: 'onnxruntime-web' }),
})

// The parent: a small MLP trained briefly on the first shard.
const sortByName = <T extends { name: string }>(ts: readonly T[]) => [...ts].sort((a, b) => (a.name < b.name ? -1 : 1))
const initial = buildDigitsMlp(4, [16])
const first = shards[0] as (typeof shards)[number]
const parent = (await train(initial, { features: first.features, sampleShape: [64], labels: first.labels }, { epochs: 2, batchSize: 32, lr: 0.1, optimizer: 'sgd', seed: 2 })).model
const parentBytes = encodeModel(parent)
const parentHash = contentId(parentBytes)
const parentWeights = sortByName(readInitializers(parent, { floatOnly: true })) as NamedTensor<'float32'>[]
const parentScore = await evaluate(parentBytes)

/** Each device's delta from further local training on its shard: a helpful update. */
const helpful = await Promise.all(
  shards.map(async (shard, i) => {
    const { weights } = await train(parent, { features: shard.features, sampleShape: [64], labels: shard.labels }, { epochs: 3, batchSize: 32, lr: 0.1, optimizer: 'sgd', seed: 10 + i })
    const byName = new Map(weights.map((w) => [w.name, w.data]))
    return parentWeights.map((p) => ({ ...p, data: Float32Array.from(p.data, (v, j) => ((byName.get(p.name) as Float32Array)[j] as number) - v) }))
  }),
)
/** A crafted harmful update: minus the parent's weights, so the aggregate is all zeros. */
const wipe = parentWeights.map((p) => ({ ...p, data: Float32Array.from(p.data, (v) => -v) }))

async function runRound(deltas: readonly NamedTensor<'float32'>[][], evaluationMargin: number): Promise<{ meta: RoundMeta; store: RoundStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'cw-round-eval-'))
  const db = new Level<string, unknown>(join(dir, 'db'))
  t.teardown(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })
  await db.open()
  const store = new RoundStore(db as never)
  const runner = new RoundRunner({ store, domain, fleet, gateway, owner: owner.address, rewardTotal: 1000n, strategy: () => new FedAvg(), announce: async () => undefined, evaluate, evaluationMargin, now: () => NOW })
  const round = 1n
  const participants = devices.slice(0, DEVICES)
  await runner.start({ round, baseModel: parentBytes, config: { quorum: DEVICES, strategy: { name: 'fedavg' } }, eligible: participants.map((d) => d.address) })
  const registry = new InMemoryRegistry()
  registry.register(...participants.map((d) => d.address))
  for (const [i, device] of participants.entries()) {
    const update = encodeUpdate(deltas[i] as NamedTensor<'float32'>[], { encoding: 'float32' })
    const certificate = await signMessage('DeviceCertificate', {
      domain,
      signer: owner,
      message: { device: device.address, peerId: PEER, fleet, hardwareModel: 'sim', keyStorage: 'memory', capabilities: [], validFrom: 0n, validUntil: BigInt(NOW + 1e6), serial: `EV-${i}` },
    })
    const attestation = await signMessage('UpdateAttestation', {
      domain,
      signer: device,
      message: { fleet, round, device: device.address, baseModel: parentHash, updateHash: contentId(update), sampleCount: BigInt((shards[i] as { count: number }).count), metricsHash: `0x${'00'.repeat(32)}`, time: BigInt(NOW - 5) },
    })
    const bytes = encodeSubmission({ attestation, certificate, update })
    const verdict = await verifySubmission(decodeSubmission(bytes), PEER, {
      domain,
      fleet,
      owner: owner.address,
      registry,
      round: { round, open: true, baseModel: parentHash },
      model: parentWeights.map((w) => ({ name: w.name, shape: w.shape })),
      limits: { maxNorm: 1e6, minSamples: 1, maxSamples: 100_000, maxAgeSeconds: 3600, maxSkewSeconds: 60 },
      seen: (h) => store.seen(h),
      now: () => NOW,
    })
    if (!verdict.accepted) throw new Error(`device ${i} rejected: ${verdict.reason} ${verdict.detail}`)
    await runner.accept(round, verdict.device as Address, verdict.attestationHash, bytes)
  }
  return { meta: await runner.finish(round), store }
}

const labelZeroShare = Array.from(validationPart.labels).filter((l) => l === 0).length / validationPart.count
t.ok(parentScore > 0.5 && parentScore < 0.97, `the parent scores ${(parentScore * 100).toFixed(1)} %: room to get better and worse`)

t.test('a harmful update beyond the margin: the parent is kept', async (t) => {
  const { meta, store } = await runRound([wipe, wipe, wipe], 0.05)
  const result = meta.result
  t.equal(meta.state, 'done')
  t.equal(result?.keptParent, true, 'kept the parent')
  t.equal(result?.newModel, parentHash, 'the round’s model is the parent')
  t.equal(result?.evaluation?.parentScore, parentScore, 'the parent’s score is recorded')
  // All-zero weights give equal outputs, and ties go to class 0.
  t.equal(result?.evaluation?.newScore, labelZeroShare, `the wiped aggregate scores the share of label 0 (${(labelZeroShare * 100).toFixed(1)} %)`)
  t.equal(result?.evaluation?.margin, 0.05)
  const record = decodeRoundRecord((await store.model(result?.recordHash ?? '0x')) as Uint8Array)
  t.equal(record.keptParent, true, 'the round record says so')
  t.equal(record.newModel, parentHash)
})

t.test('a helpful update: the aggregate is adopted', async (t) => {
  const { meta, store } = await runRound(helpful, 0.05)
  const result = meta.result
  t.equal(result?.keptParent, false, 'adopted')
  t.not(result?.newModel, parentHash, 'a new model')
  const newBytes = await store.model(result?.newModel ?? '0x')
  t.ok(newBytes !== undefined, 'the new model is stored')
  t.equal(contentId(newBytes as Uint8Array), result?.newModel, 'under its hash')
  const score = await evaluate(newBytes as Uint8Array)
  t.equal(result?.evaluation?.newScore, score, `the recorded score is the stored model's (${(score * 100).toFixed(1)} %)`)
  t.ok(score > parentScore, `better than the parent (${(parentScore * 100).toFixed(1)} %)`)
  t.equal(decodeRoundRecord((await store.model(result?.recordHash ?? '0x')) as Uint8Array).keptParent, false)
  t.ok(decodeModel(newBytes as Uint8Array).graph !== undefined, 'and it decodes')
})

t.test('a worse aggregate within the margin is adopted', async (t) => {
  const { meta } = await runRound([wipe, wipe, wipe], 1)
  t.equal(meta.result?.keptParent, false, 'a margin of 1 lets any accuracy through')
  t.ok((meta.result?.evaluation?.newScore ?? 1) < parentScore, 'although it is worse')
})

t.test('the margin is checked when the runner is made', async (t) => {
  const store = {} as RoundStore
  for (const margin of [-0.1, Number.NaN, Number.POSITIVE_INFINITY])
    t.throws(() => new RoundRunner({ store, domain, fleet, gateway, owner: owner.address, strategy: () => new FedAvg(), announce: async () => undefined, evaluationMargin: margin }), { code: 'CW_ROUND_CONFIG' }, `margin ${margin}`)
})
