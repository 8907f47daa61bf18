// Acceptance (issue 4): on one simulated device, the reference MLP trained on 80 % of the digits
// reaches ≥ 95 % accuracy on the other 20 %, with SGD with momentum and with Adam.
import t from 'tap'
import * as ort from 'onnxruntime-web'
import { buildDigitsMlp } from '../../../protocols/model/index.js'
import { accuracy, permutation, predict, seededGenerator, train } from '../../../edge-agent/training/index.js'
import { loadDigits, subset } from '../../helpers/datasets.js'

ort.env.wasm.numThreads = 1

const digits = loadDigits()
t.equal(digits.count, 1797, 'all digits loaded')
const order = permutation(digits.count, seededGenerator(1))
const nTest = Math.round(digits.count * 0.2)
const test = subset(digits, order.subarray(0, nTest))
const training = subset(digits, order.subarray(nTest))
t.equal(test.count + training.count, digits.count)

const RUNS = [
  { optimizer: 'sgd', lr: 0.1, hidden: [32], epochs: 20 },
  { optimizer: 'adam', lr: 0.003, hidden: [64], epochs: 25 },
] as const

for (const run of RUNS) {
  t.test(`MLP 64-${run.hidden.join('-')}-10, ${run.optimizer}, ${run.epochs} epochs of batch 32`, async (t) => {
    const result = await train(
      buildDigitsMlp(1, run.hidden),
      { features: training.features, sampleShape: [64], labels: training.labels },
      { epochs: run.epochs, batchSize: 32, lr: run.lr, optimizer: run.optimizer, seed: 1 },
    )
    const acc = accuracy(await predict(result.model, test.features, [64]), test.labels)
    const first = result.epochs[0]!
    const last = result.epochs.at(-1)!
    t.ok(last.loss < first.loss / 4, `training loss ${first.loss.toFixed(3)} → ${last.loss.toFixed(3)}`)
    t.ok(acc >= 0.95, `held-out accuracy ${(acc * 100).toFixed(1)} % ≥ 95 % (${test.count} digits)`)
  })
}
