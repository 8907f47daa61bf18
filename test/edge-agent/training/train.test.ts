// train(): the optimiser steps inside the graph match SGD with momentum and Adam computed by
// hand from the graph's gradients; FedProx pulls towards the base; runs are deterministic for a
// seed, cancellable, and refuse bad input with typed errors.
import t from 'tap'
import * as ort from 'onnxruntime-web'
import { GraphBuilder, buildMlp, buildWineMlp, encodeModel, readInitializers, type ModelProto } from '../../../protocols/model/index.js'
import type { NamedTensor } from '../../../protocols/tensors/named-tensor.js'
import { buildTrainingGraph } from '../../../edge-agent/training/training-graph.js'
import { TARGET_INPUT, gradName } from '../../../edge-agent/training/constants.js'
import { accuracy, permutation, predict, seededGenerator, train, type TrainingData } from '../../../edge-agent/training/index.js'
import { loadWine, subset } from '../../helpers/datasets.js'

ort.env.wasm.numThreads = 1

function tinyData(count: number, inputs: number, classes: number): TrainingData & { labels: Int32Array } {
  const features = new Float32Array(count * inputs)
  const labels = new Int32Array(count)
  for (let i = 0; i < count; i++) {
    labels[i] = i % classes
    for (let k = 0; k < inputs; k++) features[i * inputs + k] = Math.sin(i * 1.3 + k * 0.7) + (k === labels[i] ? 1 : 0)
  }
  return { features, sampleShape: [inputs], labels }
}

async function gradientsAt(model: ModelProto, weights: Map<string, Float32Array>, data: TrainingData & { labels: Int32Array }, classes: number): Promise<Map<string, Float32Array>> {
  const graph = buildTrainingGraph(model, { loss: 'cross-entropy', optimizer: 'none' })
  const session = await ort.InferenceSession.create(encodeModel(graph.model), { executionProviders: ['wasm'] })
  const count = data.labels.length
  const target = new Float32Array(count * classes)
  data.labels.forEach((l, i) => (target[i * classes + l] = 1))
  const feeds: Record<string, ort.Tensor> = {
    input: new ort.Tensor('float32', data.features, [count, ...data.sampleShape]),
    [TARGET_INPUT]: new ort.Tensor('float32', target, [count, classes]),
  }
  for (const w of graph.weights) feeds[w] = new ort.Tensor('float32', weights.get(w) as Float32Array, graph.shapes.get(w) ?? [])
  const out = await session.run(feeds)
  await session.release()
  return new Map(graph.weights.map((w) => [w, out[gradName(w)]?.data as Float32Array]))
}

const asMap = (ts: readonly NamedTensor[]): Map<string, Float32Array> => new Map(ts.map((w) => [w.name, Float32Array.from(w.data as Float32Array)]))

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let m = 0
  for (const [k, v] of a) {
    const u = b.get(k) as Float32Array
    for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs((v[i] as number) - (u[i] as number)))
  }
  return m
}

t.test('SGD with momentum in the graph matches the update computed from its gradients', async (t) => {
  const model = buildMlp({ inputs: 5, hidden: [6], classes: 3, seed: 3 })
  const data = tinyData(12, 5, 3)
  const lr = 0.1
  const momentum = 0.8
  const w0 = asMap(readInitializers(model, { floatOnly: true }))
  // Full batch, so that the shuffle does not change the gradient.
  const g0 = await gradientsAt(model, w0, data, 3)
  const w1 = new Map([...w0].map(([k, v]) => [k, v.map((x, i) => x - lr * (g0.get(k)?.[i] as number))]))
  const g1 = await gradientsAt(model, w1, data, 3)
  const w2 = new Map([...w1].map(([k, v]) => [k, v.map((x, i) => x - lr * (momentum * (g0.get(k)?.[i] as number) + (g1.get(k)?.[i] as number)))]))
  const result = await train(model, data, { epochs: 2, batchSize: 12, lr, optimizer: 'sgd', momentum, seed: 1 })
  t.equal(result.steps, 2)
  t.ok(maxDiff(asMap(result.weights), w2) < 1e-6, `weights after two steps match (max diff ${maxDiff(asMap(result.weights), w2).toExponential(2)})`)
})

t.test('Adam in the graph matches the update computed from its gradients', async (t) => {
  const model = buildMlp({ inputs: 5, hidden: [6], classes: 3, seed: 4 })
  const data = tinyData(12, 5, 3)
  const [lr, b1, b2, eps] = [0.01, 0.9, 0.999, 1e-8]
  const w = asMap(readInitializers(model, { floatOnly: true }))
  const m = new Map([...w].map(([k, v]) => [k, new Float64Array(v.length)]))
  const v2 = new Map([...w].map(([k, v]) => [k, new Float64Array(v.length)]))
  for (let step = 1; step <= 3; step++) {
    const g = await gradientsAt(model, w, data, 3)
    for (const [k, wv] of w) {
      const gk = g.get(k) as Float32Array
      const mk = m.get(k) as Float64Array
      const vk = v2.get(k) as Float64Array
      for (let i = 0; i < wv.length; i++) {
        mk[i] = b1 * (mk[i] as number) + (1 - b1) * (gk[i] as number)
        vk[i] = b2 * (vk[i] as number) + (1 - b2) * (gk[i] as number) ** 2
        const mHat = (mk[i] as number) / (1 - b1 ** step)
        const vHat = (vk[i] as number) / (1 - b2 ** step)
        wv[i] = (wv[i] as number) - (lr * mHat) / (Math.sqrt(vHat) + eps)
      }
    }
  }
  const result = await train(model, data, { epochs: 3, batchSize: 12, lr, optimizer: 'adam', seed: 1 })
  const d = maxDiff(asMap(result.weights), w)
  t.ok(d < 1e-5, `weights after three steps match (max diff ${d.toExponential(2)})`)
})

t.test('FedProx keeps the weights closer to the base', async (t) => {
  const model = buildMlp({ inputs: 5, hidden: [6], classes: 3, seed: 5 })
  const data = tinyData(60, 5, 3)
  const w0 = asMap(readInitializers(model, { floatOnly: true }))
  const plain = await train(model, data, { epochs: 5, batchSize: 8, lr: 0.1, optimizer: 'sgd', seed: 2 })
  const prox = await train(model, data, { epochs: 5, batchSize: 8, lr: 0.1, optimizer: 'sgd', seed: 2, mu: 1 })
  const dist = (ws: Map<string, Float32Array>): number => {
    let s = 0
    for (const [k, v] of ws) v.forEach((x, i) => (s += (x - (w0.get(k)?.[i] as number)) ** 2))
    return Math.sqrt(s)
  }
  const dPlain = dist(asMap(plain.weights))
  const dProx = dist(asMap(prox.weights))
  t.ok(dProx < 0.8 * dPlain, `‖w − w_base‖ ${dProx.toFixed(3)} with μ = 1 < ${dPlain.toFixed(3)} without`)
  t.ok(prox.epochs.every((e) => Number.isFinite(e.loss)))
})

t.test('deterministic for a seed; the seed changes the run', async (t) => {
  const model = buildMlp({ inputs: 5, hidden: [4], classes: 3, seed: 6 })
  const data = tinyData(40, 5, 3)
  const options = { epochs: 3, batchSize: 8, lr: 0.05, optimizer: 'adam' as const, seed: 11 }
  const a = await train(model, data, options)
  const b = await train(encodeModel(model), data, options)
  const c = await train(model, data, { ...options, seed: 12 })
  t.same(a.epochs, b.epochs, 'same per-epoch metrics')
  t.equal(maxDiff(asMap(a.weights), asMap(b.weights)), 0, 'bit-identical weights')
  t.ok(maxDiff(asMap(a.weights), asMap(c.weights)) > 0, 'another seed gives other weights')
  t.equal(a.epochs.length, 3)
  t.ok(a.epochs.every((e) => e.samples === 40 && e.steps === 5 && typeof e.accuracy === 'number'))
  t.ok(a.epochs[2]!.loss < a.epochs[0]!.loss, 'the loss goes down')
  // The returned model carries the new weights.
  t.same(asMap(readInitializers(a.model, { floatOnly: true })), asMap(a.weights))
})

t.test('cancellable', async (t) => {
  const model = buildMlp({ inputs: 5, hidden: [4], classes: 3, seed: 6 })
  const data = tinyData(40, 5, 3)
  const controller = new AbortController()
  let seen = 0
  await t.rejects(
    train(model, data, {
      epochs: 50,
      batchSize: 8,
      lr: 0.05,
      optimizer: 'sgd',
      seed: 1,
      signal: controller.signal,
      onEpoch: () => {
        seen++
        if (seen === 2) controller.abort()
      },
    }),
    { name: 'AbortError' },
  )
  t.equal(seen, 2, 'stopped after the epoch in which it was aborted')
  await t.rejects(train(model, data, { epochs: 1, batchSize: 8, lr: 0.05, optimizer: 'sgd', seed: 1, signal: AbortSignal.abort() }), { name: 'AbortError' })
})

t.test('bad input gives typed errors', async (t) => {
  const model = buildMlp({ inputs: 5, hidden: [4], classes: 3, seed: 6 })
  const data = tinyData(10, 5, 3)
  const base = { epochs: 1, batchSize: 4, lr: 0.1, optimizer: 'sgd' as const, seed: 1 }
  await t.rejects(train(model, data, { ...base, epochs: 0 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'epochs' } })
  await t.rejects(train(model, data, { ...base, lr: -1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'lr' } })
  await t.rejects(train(model, data, { ...base, optimizer: 'rmsprop' as 'sgd' }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'optimizer' } })
  await t.rejects(train(model, data, { ...base, mu: Number.NaN }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'mu' } })
  await t.rejects(train(model, { ...data, labels: Int32Array.of(0, 1, 2, 3, 0, 1, 2, 0, 1, 2) }, base), { code: 'CW_INVALID_ARGUMENT', details: { field: 'data.labels' } })
  await t.rejects(train(model, { ...data, labels: [0, 1] }, base), { code: 'CW_INVALID_ARGUMENT', details: { field: 'data.labels' } })
  await t.rejects(train(model, { ...data, features: data.features.subarray(1) }, base), { code: 'CW_INVALID_ARGUMENT', details: { field: 'data.features' } })
  await t.rejects(train(new Uint8Array([1, 2, 3]), data, base), { code: 'CW_MODEL_FORMAT' })
  // An op outside the trainable set is named with its node.
  const g = new GraphBuilder('exp')
  g.input('input', 'float32', ['N', 5])
  const w = g.floats('w', [1, 1, 1, 1, 1], [5])
  const y = g.node('Exp', [g.node('Mul', ['input', w])])
  g.node('Identity', [y], {}, 'output')
  g.output('output', 'float32', ['N', 5])
  await t.rejects(train(g.build(), { features: new Float32Array(10), sampleShape: [5] }, base), {
    code: 'CW_MODEL_UNSUPPORTED_OP',
    details: { op: 'Exp', node: 'exp' },
  })
  // An attribute the gradient rules do not cover is named with its node.
  const grouped = new GraphBuilder('grouped')
  grouped.input('input', 'float32', ['N', 2, 8])
  const cw = grouped.floats('w', new Array<number>(2 * 3).fill(0.1), [2, 1, 3])
  grouped.node('Flatten', [grouped.nodeN('Conv', ['input', cw], 1, { group: 2 }, 'conv_g')[0] as string], {}, 'output')
  grouped.output('output', 'float32', ['N', 12])
  t.throws(() => buildTrainingGraph(grouped.build(), { loss: 'mse', optimizer: 'sgd' }), { code: 'CW_MODEL_UNSUPPORTED_OP', details: { op: 'Conv', node: 'conv_g' } })
  // Diverging training stops with a typed error.
  await t.rejects(train(model, { ...data, features: data.features.map((v) => v * 1e30) }, { ...base, lr: 10 }), { code: 'CW_TRAINING_DIVERGED' })
})

t.test('wine: the MLP learns the cultivars (80/20 split)', async (t) => {
  const wine = loadWine()
  const order = permutation(wine.count, seededGenerator(3))
  const nTest = Math.round(wine.count * 0.2)
  const test = subset(wine, order.subarray(0, nTest))
  const tr = subset(wine, order.subarray(nTest))
  const result = await train(buildWineMlp(1), { features: tr.features, sampleShape: [13], labels: tr.labels }, { epochs: 30, batchSize: 32, lr: 0.01, optimizer: 'adam', seed: 1 })
  const acc = accuracy(await predict(result.model, test.features, [13]), test.labels)
  t.ok(acc >= 0.9, `held-out accuracy ${(acc * 100).toFixed(1)} % ≥ 90 %`)
})
