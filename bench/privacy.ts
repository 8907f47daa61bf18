// The accuracy cost of differential privacy on digits: 20 devices, a Dirichlet(α = 0.5) non-IID
// split, FedAvg for 30 rounds, at ε = 1, 3 and 8 (δ = 1e-5, every device in every round, so
// sample rate 1) against the same run without DP, in one run. The noise multiplier of each row is
// the smallest the accountant (protocols/privacy) finds for that ε after all the rounds:
//   device   each device clips its delta to C and adds N(0, (σC)²) before it would sign it;
//   central  the gateway clips each delta to C, averages them unweighted and adds N(0, (σC/n)²).
// Prints a table and writes bench/results/privacy.json.
//   npx tsx bench/privacy.ts [--quick]     (--quick: 10 rounds, ε = 3 only)
import type { Address } from 'viem'
import {
  decodeModel,
  encodeModel,
  FedAvg,
  ledgerEpsilon,
  privatiseUpdate,
  readInitializers,
  replaceInitializers,
  seededGaussian,
  withCentralDp,
  type ClientUpdate,
  type NamedTensor,
  type Strategy,
} from '../protocols/index.js'
import { accuracy, predict, train } from '../edge-agent/training/index.js'
import { digitsFleet } from '../test/helpers/fleet-simulation.js'
import { printTable, withRatios, writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const DEVICES = 20
const ALPHA = 0.5
const ROUNDS = quick ? 10 : 30
const EPSILONS = quick ? [3] : [1, 3, 8]
const DELTA = 1e-5
const CLIP = 0.5
const LR = 0.1

/** The smallest σ (to 0.1%) whose ε after `rounds` full-participation rounds is at most `epsilon`. */
function noiseFor(epsilon: number, rounds: number): number {
  let lo = 0.01
  let hi = 1000
  for (let i = 0; i < 60 && hi / lo > 1.001; i++) {
    const mid = Math.sqrt(lo * hi)
    if (ledgerEpsilon([{ sampleRate: 1, noiseMultiplier: mid, rounds }], DELTA) > epsilon) lo = mid
    else hi = mid
  }
  return hi
}

type Mode = 'none' | 'device' | 'central'

async function run(mode: Mode, sigma: number, onRound: (round: number, acc: number) => void): Promise<number[]> {
  const fleet = digitsFleet(DEVICES, ALPHA, 7)
  const gaussian = seededGaussian(99)
  const strategy: Strategy = mode === 'central' ? withCentralDp(new FedAvg(), { clipNorm: CLIP, noiseMultiplier: sigma, gaussian }) : new FedAvg()
  let model = fleet.baseModel
  const history: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const base = (readInitializers(model, { floatOnly: true }) as NamedTensor<'float32'>[]).sort((a, b) => (a.name < b.name ? -1 : 1))
    const updates: ClientUpdate[] = []
    for (const [i, shard] of fleet.shards.entries()) {
      if (shard.count === 0) continue
      const result = await train(model, { features: shard.features, sampleShape: [64], labels: shard.labels }, { epochs: 1, batchSize: 32, lr: LR, optimizer: 'sgd', seed: round * 1000 + i })
      const weights = new Map(result.weights.map((w) => [w.name, w]))
      let delta = base.map((b) => {
        const w = weights.get(b.name)?.data ?? b.data
        return { ...b, data: Float32Array.from(b.data, (v, j) => (w[j] as number) - v) }
      })
      if (mode === 'device') delta = privatiseUpdate(delta, { clipNorm: CLIP, noiseMultiplier: sigma, gaussian }).delta
      updates.push({ device: fleet.devices[i] as Address, sampleCount: shard.count, delta })
    }
    updates.sort((a, b) => (a.device.toLowerCase() < b.device.toLowerCase() ? -1 : 1))
    const aggregated = await strategy.aggregate(base, updates)
    model = decodeModel(encodeModel(replaceInitializers(model, aggregated.weights)))
    const acc = accuracy(await predict(model, fleet.test.features, [64]), fleet.test.labels)
    history.push(acc)
    onRound(round, acc)
  }
  return history
}

const rows: Row[] = []
const runs: Record<string, { sigma: number; epsilon: number | null; accuracy: number[] }> = {}
const progress = (name: string) => (round: number, acc: number) => process.stderr.write(`\r${name}: round ${round + 1}/${ROUNDS} accuracy ${acc.toFixed(3)}   `)
const started = Date.now()
const clean = await run('none', 0, progress('no DP'))
runs['no DP'] = { sigma: 0, epsilon: null, accuracy: clean }
const final = (h: number[]) => h[h.length - 1] as number
rows.push({ group: 'accuracy', name: 'no DP', value: final(clean), unit: 'test accuracy' })
for (const epsilon of EPSILONS) {
  const sigma = noiseFor(epsilon, ROUNDS)
  for (const mode of ['device', 'central'] as const) {
    const name = `${mode} ε=${epsilon}`
    const history = await run(mode, sigma, progress(name))
    runs[name] = { sigma, epsilon: ledgerEpsilon([{ sampleRate: 1, noiseMultiplier: sigma, rounds: ROUNDS }], DELTA), accuracy: history }
    rows.push({ group: 'accuracy', name: `${name} (σ=${sigma.toFixed(3)})`, value: final(history), unit: 'test accuracy', baseline: 'no DP' })
  }
}
process.stderr.write('\n')
const table = withRatios(rows)
printTable(`Accuracy cost of DP: digits, ${DEVICES} devices, Dirichlet α=${ALPHA}, ${ROUNDS} rounds of FedAvg, δ=${DELTA}, clip ${CLIP}`, table)
const file = writeResults('privacy', table, { quick, devices: DEVICES, alpha: ALPHA, rounds: ROUNDS, delta: DELTA, clipNorm: CLIP, lr: LR, seconds: (Date.now() - started) / 1000, runs })
console.log(`\nwrote ${file}`)
