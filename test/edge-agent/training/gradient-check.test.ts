// Gradient checks: for every trainable op and both losses (and the FedProx term), the gradients
// the training graph computes in onnxruntime-web (float32) match central finite differences of a
// float64 JavaScript evaluation of the forward graph (reference-evaluator.ts).
//
// Tolerance, per weight element: |g_onnx − g_fd| ≤ ATOL + RTOL·|g_fd|, with ATOL = 1e-6 and
// RTOL = 1e-4 (float32 arithmetic in the graph; the float64 differences with h = 1e-5 are exact
// to about 1e-10). Inputs are drawn away from the kinks of Relu/LeakyRelu/MaxPool by the seed.
import t, { type Test } from 'tap'
import * as ort from 'onnxruntime-web'
import { GraphBuilder, WeightInit, encodeModel, float, readInitializers, type Dim, type ModelProto } from '../../../protocols/model/index.js'
import { buildTrainingGraph, type LossKind } from '../../../edge-agent/training/training-graph.js'
import { LOSS_OUTPUT, MU_INPUT, TARGET_INPUT, baseName, gradName } from '../../../edge-agent/training/constants.js'
import { crossEntropy, evaluate, meanSquaredError, type T64 } from './reference-evaluator.js'

ort.env.wasm.numThreads = 1

const ATOL = 1e-6
const RTOL = 1e-4
const H = 1e-5

interface Case {
  name: string
  loss: LossKind
  /** Shape of the data input fed (the first dimension is the batch). */
  x: number[]
  build: (g: GraphBuilder, x: string, p: (name: string, shape: number[]) => string) => string
  /** Output shape with the batch as 'N' where it is the batch. */
  out: Dim[]
  mu?: number
}

function makeModel(c: Case, seed: number): ModelProto {
  const init = new WeightInit(seed)
  const g = new GraphBuilder(c.name)
  const x = g.input('x', 'float32', ['N', ...c.x.slice(1)])
  const p = (name: string, shape: number[]): string => g.initializer(init.uniform(name, shape, 1))
  const y = c.build(g, x, p)
  g.node('Identity', [y], {}, 'y')
  g.output('y', 'float32', c.out)
  return g.build()
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1)

async function check(t: Test, c: Case, seed = 1, corrupt = 0): Promise<{ worst: number; worstAbs: number; checked: number; lossErr: number }> {
  const model = makeModel(c, seed)
  const init = new WeightInit(seed + 100)
  const xData = init.uniform('x', c.x, 1).data
  const x64: T64 = { data: Float64Array.from(xData), shape: [...c.x] }
  const weights = readInitializers(model, { floatOnly: true })
  const out0 = evaluate(model, { x: x64 }).get('y') as T64
  let target: Float32Array
  if (c.loss === 'cross-entropy') {
    const rows = size(out0.shape.slice(0, -1))
    const classes = out0.shape[out0.shape.length - 1] as number
    target = new Float32Array(out0.data.length)
    for (let r = 0; r < rows; r++) target[r * classes + ((r * 7 + 3) % classes)] = 1
  } else {
    target = init.uniform('target', out0.shape, 1).data
  }
  const target64: T64 = { data: Float64Array.from(target), shape: [...out0.shape] }
  const mu = c.mu ?? 0
  // A FedProx base a little away from the weights, so that the proximal gradient is not zero.
  const base = new Map(weights.map((w) => [w.name, init.uniform(`base.${w.name}`, w.shape, 0.5).data]))

  const lossOf = (feeds: Record<string, T64>): number => {
    const y = evaluate(model, { x: x64, ...feeds }).get('y') as T64
    let l = c.loss === 'cross-entropy' ? crossEntropy(y, target64) : meanSquaredError(y, target64)
    if (mu > 0)
      for (const w of weights) {
        const v = (feeds[w.name]?.data ?? Float64Array.from(w.data as Float32Array)) as Float64Array
        const b = base.get(w.name) as Float32Array
        for (let i = 0; i < v.length; i++) l += (mu / 2) * ((v[i] as number) - (b[i] as number)) ** 2
      }
    return l
  }

  const graph = buildTrainingGraph(model, { loss: c.loss, optimizer: 'none', proximal: mu > 0 })
  const session = await ort.InferenceSession.create(encodeModel(graph.model), { executionProviders: ['wasm'] })
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', xData, c.x),
    [TARGET_INPUT]: new ort.Tensor('float32', target, out0.shape),
  }
  for (const w of weights) feeds[w.name] = new ort.Tensor('float32', w.data as Float32Array, w.shape)
  if (mu > 0) {
    feeds[MU_INPUT] = new ort.Tensor('float32', Float32Array.of(mu), [])
    for (const w of weights) feeds[baseName(w.name)] = new ort.Tensor('float32', base.get(w.name) as Float32Array, w.shape)
  }
  const result = await session.run(feeds)
  await session.release()
  const lossOnnx = (result[LOSS_OUTPUT]?.data as Float32Array)[0] as number
  const loss64 = lossOf({})
  const lossErr = Math.abs(lossOnnx - loss64) / Math.max(1, Math.abs(loss64))

  let worst = 0
  let worstAbs = 0
  let checked = 0
  t.same(new Set(graph.weights), new Set(weights.map((w) => w.name)), `${c.name}: every weight gets a gradient`)
  for (const w of weights) {
    const g = Float32Array.from(result[gradName(w.name)]?.data as Float32Array)
    // The control below spoils one element to show that the tolerance catches a small error.
    if (corrupt !== 0 && w === weights[0]) g[0] = (g[0] as number) * (1 + corrupt)
    const v = Float64Array.from(w.data as Float32Array)
    for (let i = 0; i < v.length; i++) {
      const keep = v[i] as number
      v[i] = keep + H
      const up = lossOf({ [w.name]: { data: v, shape: [...w.shape] } })
      v[i] = keep - H
      const down = lossOf({ [w.name]: { data: v, shape: [...w.shape] } })
      v[i] = keep
      const fd = (up - down) / (2 * H)
      const err = Math.abs((g[i] as number) - fd) / (ATOL + RTOL * Math.abs(fd))
      worst = Math.max(worst, err)
      worstAbs = Math.max(worstAbs, Math.abs((g[i] as number) - fd))
      checked++
    }
  }
  return { worst, worstAbs, checked, lossErr }
}

const dense = (g: GraphBuilder, x: string, p: (n: string, s: number[]) => string, name: string, inputs: number, outputs: number): string =>
  g.node('Gemm', [x, p(`${name}.w`, [outputs, inputs]), p(`${name}.b`, [outputs])], { transB: 1 })

const CASES: Case[] = [
  { name: 'Gemm (transB, alpha, beta)', loss: 'mse', x: [3, 4], out: ['N', 3], build: (g, x, p) => g.node('Gemm', [x, p('w', [3, 4]), p('b', [3])], { transB: 1, alpha: float(0.7), beta: float(1.3) }) },
  { name: 'Gemm (transA, C broadcast)', loss: 'mse', x: [4, 5], out: [5, 3], build: (g, x, p) => g.node('Gemm', [g.node('Add', [x, p('a', [4, 5])]), p('b', [4, 3]), p('c', [1, 3])], { transA: 1 }) },
  { name: 'Gemm (transA, transB)', loss: 'mse', x: [4, 5], out: [5, 2], build: (g, x, p) => g.node('Gemm', [g.node('Mul', [x, p('a', [4, 5])]), p('b', [2, 4]), p('c', [5, 2])], { transA: 1, transB: 1, alpha: float(1.5) }) },
  { name: 'MatMul (batched A, 2-D B)', loss: 'mse', x: [2, 3, 4], out: ['N', 3, 5], build: (g, x, p) => g.node('MatMul', [g.node('Add', [x, p('a', [3, 4])]), p('b', [4, 5])]) },
  { name: 'MatMul (2-D A, batched B)', loss: 'mse', x: [2, 4, 3], out: ['N', 2, 3], build: (g, x, p) => g.node('MatMul', [p('a', [2, 4]), g.node('Mul', [x, p('b', [4, 1])])]) },
  {
    name: 'Add, Sub, Mul with broadcasting',
    loss: 'mse',
    x: [2, 3, 4],
    out: ['N', 3, 4],
    build: (g, x, p) => {
      const a = g.node('Add', [x, p('a', [4])])
      const s = g.node('Sub', [p('b', [3, 1]), a])
      const m = g.node('Mul', [s, p('c', [1, 3, 4])])
      return g.node('Mul', [m, g.node('Add', [x, p('d', [1])])])
    },
  },
  { name: 'Relu', loss: 'mse', x: [4, 5], out: ['N', 6], build: (g, x, p) => g.node('Relu', [dense(g, x, p, 'fc', 5, 6)]) },
  { name: 'LeakyRelu', loss: 'mse', x: [4, 5], out: ['N', 6], build: (g, x, p) => g.node('LeakyRelu', [dense(g, x, p, 'fc', 5, 6)], { alpha: float(0.2) }) },
  { name: 'Sigmoid', loss: 'mse', x: [4, 5], out: ['N', 3], build: (g, x, p) => g.node('Sigmoid', [dense(g, x, p, 'fc', 5, 3)]) },
  { name: 'Tanh', loss: 'mse', x: [4, 5], out: ['N', 3], build: (g, x, p) => g.node('Tanh', [dense(g, x, p, 'fc', 5, 3)]) },
  { name: 'Softmax (axis 1 of 3-D) under MSE', loss: 'mse', x: [2, 3, 4], out: ['N', 3, 4], build: (g, x, p) => g.node('Softmax', [g.node('Mul', [x, p('a', [3, 4])])], { axis: 1 }) },
  { name: 'LogSoftmax (inner) under MSE', loss: 'mse', x: [3, 5], out: ['N', 4], build: (g, x, p) => g.node('LogSoftmax', [dense(g, x, p, 'fc', 5, 4)], { axis: -1 }) },
  { name: 'cross-entropy on logits', loss: 'cross-entropy', x: [5, 4], out: ['N', 3], build: (g, x, p) => dense(g, x, p, 'fc', 4, 3) },
  { name: 'cross-entropy after LogSoftmax', loss: 'cross-entropy', x: [5, 4], out: ['N', 3], build: (g, x, p) => g.node('LogSoftmax', [g.node('Relu', [dense(g, x, p, 'fc', 4, 3)])], { axis: 1 }) },
  { name: 'cross-entropy after Softmax', loss: 'cross-entropy', x: [5, 4], out: ['N', 3], build: (g, x, p) => g.node('Softmax', [dense(g, x, p, 'fc', 4, 3)], { axis: -1 }) },
  { name: 'Flatten', loss: 'mse', x: [3, 2, 3], out: ['N', 2], build: (g, x, p) => dense(g, g.node('Flatten', [g.node('Mul', [x, p('a', [2, 3])])], { axis: 1 }), p, 'fc', 6, 2) },
  {
    name: 'Reshape',
    loss: 'mse',
    x: [2, 6],
    out: ['N', 3, 2],
    build: (g, x, p) => g.node('Mul', [g.node('Reshape', [g.node('Add', [x, p('a', [6])]), g.int64s('shape', [-1, 3, 2])]), p('b', [3, 2])]),
  },
  {
    name: 'Reshape by a Constant node (as exporters write it)',
    loss: 'mse',
    x: [2, 6],
    out: ['N', 2, 3],
    build: (g, x, p) => {
      const shape = g.unique('shape')
      g.addNode({
        opType: 'Constant',
        name: 'shape_const',
        input: [],
        output: [shape],
        attribute: [{ name: 'value', type: 4, t: { name: 'v', dataType: 7, dims: [3], int64Data: [0, 2, 3] } }],
      })
      return g.node('Tanh', [g.node('Reshape', [g.node('Mul', [x, p('a', [6])]), shape])])
    },
  },
  {
    name: 'Conv 1-D (pads, stride 2, dilation 2)',
    loss: 'mse',
    x: [2, 2, 9],
    out: ['N', 3, 4],
    build: (g, x, p) => g.node('Conv', [x, p('w', [3, 2, 3]), p('b', [3])], { kernel_shape: [3], pads: [1, 2], strides: [2], dilations: [2] }),
  },
  {
    name: 'Conv 1-D (same padding) on a weighted input',
    loss: 'mse',
    x: [2, 1, 8],
    out: ['N', 2, 8],
    build: (g, x, p) => g.node('Conv', [g.node('Mul', [x, p('a', [1, 8])]), p('w', [2, 1, 5])], { pads: [2, 2] }),
  },
  {
    name: 'Conv 2-D (pads, strides, dilations)',
    loss: 'mse',
    x: [2, 2, 5, 6],
    out: ['N', 3, 3, 5],
    build: (g, x, p) => g.node('Conv', [x, p('w', [3, 2, 3, 2]), p('b', [3])], { kernel_shape: [3, 2], pads: [1, 0, 0, 1], strides: [2, 1], dilations: [1, 2] }),
  },
  {
    name: 'MaxPool 1-D (overlapping, padded)',
    loss: 'mse',
    x: [2, 2, 9],
    out: ['N', 2, 5],
    build: (g, x, p) => g.node('MaxPool', [g.node('Mul', [x, p('a', [2, 9])])], { kernel_shape: [3], strides: [2], pads: [1, 1] }),
  },
  {
    name: 'MaxPool 2-D',
    loss: 'mse',
    x: [2, 2, 4, 5],
    out: ['N', 2, 2, 2],
    build: (g, x, p) => g.node('MaxPool', [g.node('Add', [x, p('a', [2, 4, 5])])], { kernel_shape: [2, 2], strides: [2, 2] }),
  },
  {
    name: 'AveragePool 1-D (padded, count_include_pad 0)',
    loss: 'mse',
    x: [2, 2, 7],
    out: ['N', 2, 4],
    build: (g, x, p) => g.node('AveragePool', [g.node('Mul', [x, p('a', [2, 7])])], { kernel_shape: [3], strides: [2], pads: [1, 1] }),
  },
  {
    name: 'AveragePool 2-D (padded, count_include_pad 1)',
    loss: 'mse',
    x: [2, 2, 4, 5],
    out: ['N', 2, 3, 3],
    build: (g, x, p) => g.node('AveragePool', [g.node('Mul', [x, p('a', [2, 4, 5])])], { kernel_shape: [2, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }),
  },
  {
    name: 'AveragePool 1-D (no pads)',
    loss: 'mse',
    x: [2, 3, 8],
    out: ['N', 3, 3],
    build: (g, x, p) => g.node('AveragePool', [g.node('Add', [x, p('a', [3, 1])])], { kernel_shape: [3], strides: [2] }),
  },
  {
    name: 'Concat',
    loss: 'mse',
    x: [3, 4],
    out: ['N', 2, 5],
    build: (g, x, p) => {
      const a = g.node('Reshape', [dense(g, x, p, 'fa', 4, 4), g.int64s('s', [-1, 2, 2])])
      const b = g.node('Reshape', [dense(g, x, p, 'fb', 4, 6), g.int64s('s', [-1, 2, 3])])
      return g.node('Concat', [a, b], { axis: 2 })
    },
  },
  { name: 'Identity', loss: 'mse', x: [3, 4], out: ['N', 2], build: (g, x, p) => g.node('Identity', [dense(g, x, p, 'fc', 4, 2)]) },
  {
    name: 'a weight used twice (gradients summed)',
    loss: 'mse',
    x: [3, 4],
    out: ['N', 4],
    build: (g, x, p) => {
      const w = p('w', [4, 4])
      return g.node('Gemm', [g.node('Tanh', [g.node('Gemm', [x, w], { transB: 1 })]), w])
    },
  },
  { name: 'FedProx term with cross-entropy', loss: 'cross-entropy', x: [5, 4], out: ['N', 3], mu: 0.3, build: (g, x, p) => dense(g, x, p, 'fc', 4, 3) },
  { name: 'FedProx term with MSE', loss: 'mse', x: [5, 4], out: ['N', 3], mu: 0.05, build: (g, x, p) => g.node('Sigmoid', [dense(g, x, p, 'fc', 4, 3)]) },
]

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const { worst, worstAbs, checked, lossErr } = await check(t, c)
    t.ok(checked > 0, `${checked} gradient elements checked`)
    t.ok(worst <= 1, `gradients within tolerance (largest |g − fd| ${worstAbs.toExponential(2)}, ${worst.toFixed(3)} of the allowed error)`)
    t.ok(lossErr < 1e-5, `loss matches the float64 evaluation (relative error ${lossErr.toExponential(2)})`)
  })
}

t.test('control: a gradient off by 0.5 % fails the check', async (t) => {
  const { worst } = await check(t, CASES[0] as Case, 1, 0.005)
  t.ok(worst > 1, `flagged (${worst.toFixed(1)} × the allowed error)`)
})
