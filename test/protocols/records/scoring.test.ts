// What a lie about the sample count buys. Two honest devices (400 and 600 samples) and one that
// claims the most the gateway allows by default (100,000 samples), with the round aggregated by
// FedAvg and scored as the gateway and the auditor do (aggregationSamples, qualityPpm,
// splitRewards). docs/scoring.md quotes the numbers this test pins down.
import t from 'tap'
import { getAddress, type Address } from 'viem'
import {
  aggregationSamples,
  Consensus,
  contributionQuality,
  FedAvg,
  qualityPpm,
  SAMPLE_WEIGHT_CAP,
  sampleWeight,
  splitRewards,
  subtractWeights,
  type ClientUpdate,
  type NamedTensor,
} from '../../../protocols/index.js'
import { DEFAULT_VERIFICATION } from '../../../gateway/daemon/constants.js'

const REWARD = 1_000_000n
const device = (i: number): Address => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`)
const tensor = (values: number[]): NamedTensor<'float32'>[] => [{ name: 'w', dtype: 'float32', shape: [values.length], data: Float32Array.from(values) }]
const base = tensor([0, 0, 0, 0, 0, 0])
/** What each device trained: the honest ones agree; the liar's is either as good, or points elsewhere. */
const honestA = tensor([1, 1, 1, 0.1, 0, 0])
const honestB = tensor([1, 0.9, 1.1, 0, 0.1, 0])
const liarGood = tensor([0.9, 1, 1, 0, 0, 0.1])
const liarBad = tensor([-1, 0, 0, 0, 1, 1])

interface Outcome {
  rewards: bigint[]
  quality: number[]
  /** The liar's share of the aggregate's weight. */
  liarWeight: number
}

/** One round: aggregate, score, split — with the capped weights, or (for comparison) the old linear ones. */
async function round(liarDelta: NamedTensor<'float32'>[], capped: boolean): Promise<Outcome> {
  const claims = [400, 600, DEFAULT_VERIFICATION.maxSamples]
  const deltas = [honestA, honestB, liarDelta]
  const counts = claims.map((n) => (capped ? aggregationSamples(n) : n))
  const updates: ClientUpdate[] = deltas.map((delta, i) => ({ device: device(i), sampleCount: counts[i] as number, delta }))
  const aggregated = await new FedAvg().aggregate(base, updates)
  const aggregate = subtractWeights(aggregated.weights, base)
  // The gateway scores each update against the other devices' directions; the old formula, against the aggregate.
  const consensus = new Consensus()
  for (const d of deltas) consensus.add(d)
  const quality = deltas.map((d) => (capped ? contributionQuality(d, consensus, aggregate, true) : qualityPpm(d, aggregate, true)))
  const rewards = capped
    ? splitRewards(claims.map((sampleCount, i) => ({ sampleCount, qualityPpm: quality[i] as number })), REWARD)
    : linearRewards(claims, quality)
  return { rewards, quality, liarWeight: (counts[2] as number) / counts.reduce((s, n) => s + n, 0) }
}

/** The formula this replaced: weight = samples × quality. */
function linearRewards(claims: number[], quality: number[]): bigint[] {
  const weights = claims.map((n, i) => BigInt(n) * BigInt(quality[i] as number))
  const total = weights.reduce((s, w) => s + w, 0n)
  return weights.map((w) => (REWARD * w) / total)
}

t.test('sampleWeight is ⌊1000·√min(n, cap)⌋: sub-linear, capped, integer', async (t) => {
  t.same([0, 1, 4, 400, 600, 1000, 1001, 10 ** 7].map((n) => sampleWeight(n)), [0n, 1000n, 2000n, 20000n, 24494n, 31622n, 31622n, 31622n])
  t.equal(aggregationSamples(10n ** 18n), SAMPLE_WEIGHT_CAP)
  t.equal(aggregationSamples(250), 250, 'below the cap FedAvg weighs the claim as it is')
  t.throws(() => sampleWeight(-1), { code: 'CW_INVALID_ARGUMENT' })
  t.throws(() => sampleWeight(1.5), { code: 'CW_INVALID_ARGUMENT' })
})

t.test('a device claiming the maximum with an honest update: a bounded gain', async (t) => {
  const before = await round(liarGood, false)
  const after = await round(liarGood, true)
  t.comment(`linear: rewards ${before.rewards.join(' / ')}, liar weight in the aggregate ${(before.liarWeight * 100).toFixed(1)}%`)
  t.comment(`capped: rewards ${after.rewards.join(' / ')}, liar weight in the aggregate ${(after.liarWeight * 100).toFixed(1)}%`)
  t.ok((before.rewards[2] as bigint) > 990_000n, 'before: the liar took over 99% of the reward')
  t.same(after.rewards, [263072n, 321387n, 415540n])
  t.equal(after.liarWeight, 0.5, 'its 100,000 samples weigh as 1,000 in the aggregate: half, not 99%')
  // With the same quality, the liar earns √(1000/400) ≈ 1.58× and √(1000/600) ≈ 1.29× what the honest devices do.
  const ratio = Number(after.rewards[2]) / Number(after.rewards[0])
  t.ok(ratio < Math.sqrt(SAMPLE_WEIGHT_CAP / 400) * 1.05, `the liar earns ${ratio.toFixed(2)}× the 400-sample device (bound √(1000/400) = 1.58 at equal quality)`)
})

t.test('a device claiming the maximum with a useless update: it cannot take the honest devices\' rewards', async (t) => {
  const before = await round(liarBad, false)
  const after = await round(liarBad, true)
  t.comment(`linear: rewards ${before.rewards.join(' / ')}, quality ${before.quality.join(' / ')} ppm`)
  t.comment(`capped: rewards ${after.rewards.join(' / ')}, quality ${after.quality.join(' / ')} ppm`)
  t.same(before.rewards.slice(0, 2), [0n, 0n], 'before: the honest devices got nothing (the aggregate was the liar\'s update)')
  t.same(after.rewards, [430868n, 569131n, 0n], "scored against the other devices' directions, the useless update gets 0")
  t.equal(after.quality[2], 0)
})
