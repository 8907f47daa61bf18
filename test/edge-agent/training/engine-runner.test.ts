// Training graphs run on hardware/inference's engines: onnxruntime-web gives the same weights as
// the default runner, bit for bit, and onnxruntime-node (where it is installed) the same within
// float32 rounding.
import t from 'tap'
import * as ort from 'onnxruntime-web'
import { buildDigitsMlp, buildCnn1d } from '../../../protocols/model/index.js'
import { OrtWebEngine, createOrtNodeEngine, loadOrtNode } from '../../../hardware/inference/index.js'
import { engineRunner, train, type TrainingData } from '../../../edge-agent/training/index.js'
import { loadDigits } from '../../helpers/datasets.js'

ort.env.wasm.numThreads = 1

const digits = loadDigits()
const data: TrainingData = { features: digits.features.subarray(0, 256 * 64), sampleShape: [64], labels: digits.labels.subarray(0, 256) }
const options = { epochs: 2, batchSize: 32, lr: 0.01, optimizer: 'adam' as const, seed: 3, mu: 0.01 }

function maxDiff(a: { data: unknown }[], b: { data: unknown }[]): number {
  let m = 0
  a.forEach((w, k) => {
    const x = w.data as Float32Array
    const y = b[k]?.data as Float32Array
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs((x[i] as number) - (y[i] as number)))
  })
  return m
}

t.test('onnxruntime-web engine', async (t) => {
  const model = buildDigitsMlp(2)
  const plain = await train(model, data, options)
  const viaEngine = await train(model, data, { ...options, engine: engineRunner(() => new OrtWebEngine({ threads: 1 })) })
  t.same(viaEngine.epochs, plain.epochs)
  t.equal(maxDiff(viaEngine.weights, plain.weights), 0, 'bit-identical weights')
})

t.test('onnxruntime-node engine', async (t) => {
  if ((await loadOrtNode()) === undefined) {
    t.comment('onnxruntime-node is not installed here; nothing to compare')
    t.pass('optional engine absent')
    return
  }
  for (const [name, model, set] of [
    ['MLP', buildDigitsMlp(2), data],
    [
      'CNN',
      buildCnn1d({ channels: 1, length: 64, classes: 10, filters: [4], kernel: 3, hidden: 8, seed: 1 }),
      { ...data, sampleShape: [1, 64] },
    ],
  ] as const) {
    const web = await train(model, set, options)
    const native = await train(model, set, { ...options, engine: engineRunner(() => createOrtNodeEngine({ threads: 1 })) })
    const d = maxDiff(native.weights, web.weights)
    t.ok(d < 1e-4, `${name}: weights agree after ${web.steps} steps (max diff ${d.toExponential(2)})`)
    t.ok(Math.abs((native.epochs.at(-1)?.loss ?? 0) - (web.epochs.at(-1)?.loss ?? 1)) < 1e-4, `${name}: losses agree`)
  }
})
