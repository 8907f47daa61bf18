// Acceptance (issue 4) on the `synthetic` sensor of hardware/sensors, with labelled anomalies
// (spike, shift, stuck, noise): the reference 1-D CNN classifies windows as normal or anomalous
// with ≥ 95 % accuracy, and the reference autoencoder, trained on normal windows only, scores
// anomalous windows higher (ROC AUC ≥ 0.9). Training and test windows come from two streams of
// different seeds, so no reading is shared between them.
import t from 'tap'
import * as ort from 'onnxruntime-web'
import { buildAutoencoder, buildCnn1d } from '../../../protocols/model/index.js'
import { accuracy, predict, sampleErrors, train } from '../../../edge-agent/training/index.js'
import { CHANNELS, WINDOW, rocAuc, syntheticWindows, windowsWithLabel } from '../../helpers/sensor-windows.js'

ort.env.wasm.numThreads = 1

const training = syntheticWindows(1, 100_000)
const test = syntheticWindows(2, 25_000)
const anomalous = (labels: Int32Array): number => labels.reduce((s, l) => s + l, 0)
t.ok(anomalous(training.labels) > training.count / 10 && anomalous(test.labels) > test.count / 10, 'both sets hold enough anomalous windows')
t.ok(anomalous(test.labels) < test.count / 2, 'normal windows are the majority')
const majority = 1 - anomalous(test.labels) / test.count

t.test('1-D CNN classifies sensor windows (normal / anomalous)', async (t) => {
  const model = buildCnn1d({ channels: CHANNELS, length: WINDOW, classes: 2, filters: [8, 16], kernel: 5, hidden: 32, seed: 1 })
  const result = await train(model, { features: training.features, sampleShape: training.shape, labels: training.labels }, { epochs: 10, batchSize: 32, lr: 0.003, optimizer: 'adam', seed: 1 })
  const acc = accuracy(await predict(result.model, test.features, test.shape), test.labels)
  t.ok(result.epochs.at(-1)!.loss < result.epochs[0]!.loss / 3, 'the training loss falls')
  t.ok(acc >= 0.95, `held-out accuracy ${(acc * 100).toFixed(1)} % ≥ 95 % on ${test.count} windows (always-normal would score ${(majority * 100).toFixed(1)} %)`)
})

t.test('autoencoder trained on normal windows scores anomalies higher', async (t) => {
  const size = CHANNELS * WINDOW
  const normal = windowsWithLabel(training, 0)
  const model = buildAutoencoder({ inputs: size, hidden: [32], latent: 8, seed: 1 })
  const result = await train(model, { features: normal, sampleShape: [size] }, { epochs: 10, batchSize: 32, lr: 0.003, optimizer: 'adam', seed: 1 })
  t.ok(result.epochs.at(-1)!.loss < result.epochs[0]!.loss / 5, 'the reconstruction error falls')
  t.equal(result.epochs[0]!.accuracy, undefined, 'no accuracy for MSE')
  const outputs = await predict(result.model, test.features, [size])
  const scores = sampleErrors(outputs, test.features, test.count)
  const auc = rocAuc(scores, test.labels)
  t.ok(auc >= 0.9, `ROC AUC of the reconstruction error ${auc.toFixed(3)} ≥ 0.9`)
})
