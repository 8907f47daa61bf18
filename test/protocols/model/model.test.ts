// protocols/model: decoding with caps and typed errors, initializers as named tensors, the graph
// builder, the seeded reference models (run in onnxruntime-web), and the trainable-op check.
import t from 'tap'
import * as ort from 'onnxruntime-web'
import {
  GraphBuilder,
  MAX_MODEL_BYTES,
  TRAINABLE_OPS,
  assertTrainable,
  buildAutoencoder,
  buildCnn1d,
  buildDigitsMlp,
  buildMlp,
  buildWineMlp,
  decodeModel,
  encodeModel,
  float,
  listUnsupportedOps,
  modelOpset,
  onnx,
  readInitializers,
  replaceInitializers,
  type ModelProto,
} from '../../../protocols/model/index.js'
import { namedTensor } from '../../../protocols/tensors/named-tensor.js'

ort.env.wasm.numThreads = 1

async function run(model: ModelProto, input: Float32Array, dims: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(encodeModel(model), { executionProviders: ['wasm'] })
  const out = await session.run({ input: new ort.Tensor('float32', input, dims) })
  await session.release()
  return out.output as ort.Tensor
}

t.test('encode → decode round-trips', async (t) => {
  const model = buildDigitsMlp(1)
  const bytes = encodeModel(model)
  const back = decodeModel(bytes)
  t.same(encodeModel(back), bytes, 'byte-identical re-encoding')
  t.equal(modelOpset(back), 17)
  t.same(readInitializers(back), readInitializers(model))
})

t.test('bad bytes give typed errors before or while decoding', async (t) => {
  t.throws(() => decodeModel(new Uint8Array(MAX_MODEL_BYTES + 1)), { code: 'CW_MODEL_TOO_LARGE', details: { size: MAX_MODEL_BYTES + 1, max: MAX_MODEL_BYTES } })
  t.throws(() => decodeModel(new Uint8Array(100), { maxBytes: 99 }), { code: 'CW_MODEL_TOO_LARGE' })
  t.throws(() => decodeModel(new Uint8Array()), { code: 'CW_MODEL_FORMAT', details: { field: 'bytes' } })
  t.throws(() => decodeModel(new TextEncoder().encode('this is not an onnx model at all')), { code: 'CW_MODEL_FORMAT' })
  t.throws(() => decodeModel(Uint8Array.of(0xff, 0xff, 0xff)), { code: 'CW_MODEL_FORMAT' })
  t.throws(() => decodeModel('model' as unknown as Uint8Array), { code: 'CW_MODEL_FORMAT', details: { field: 'bytes' } })
  // Well-formed protobuf that is not a usable model.
  const noGraph = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }] }).finish()
  t.throws(() => decodeModel(noGraph), { code: 'CW_MODEL_FORMAT', details: { field: 'graph' } })
  const noOpset = onnx.ModelProto.encode({ irVersion: 8, graph: { node: [{ opType: 'Relu', input: ['x'], output: ['y'] }], output: [{ name: 'y' }] } }).finish()
  t.throws(() => decodeModel(noOpset), { code: 'CW_MODEL_FORMAT', details: { field: 'opset_import' } })
  // An initializer whose raw data does not match its dims.
  const model = buildDigitsMlp(1)
  const broken = onnx.ModelProto.decode(encodeModel(model))
  const init = broken.graph?.initializer?.[0]
  if (init !== undefined && init !== null) init.rawData = new Uint8Array(12)
  t.throws(() => decodeModel(onnx.ModelProto.encode(broken).finish()), { code: 'CW_MODEL_FORMAT' })
  // Duplicate initializer names.
  const dup = onnx.ModelProto.decode(encodeModel(model))
  dup.graph?.initializer?.push(onnx.TensorProto.create(dup.graph.initializer[0] ?? {}))
  t.throws(() => decodeModel(onnx.ModelProto.encode(dup).finish()), { code: 'CW_MODEL_FORMAT', details: { field: 'graph.initializer[4]' } })
})

t.test('initializers read and replaced as named tensors', async (t) => {
  const model = buildMlp({ inputs: 4, hidden: [3], classes: 2, seed: 9 })
  const weights = readInitializers(model)
  t.same(
    weights.map((w) => [w.name, w.dtype, w.shape]),
    [
      ['fc1.weight', 'float32', [3, 4]],
      ['fc1.bias', 'float32', [3]],
      ['fc2.weight', 'float32', [2, 3]],
      ['fc2.bias', 'float32', [2]],
    ],
  )
  const bias = namedTensor('fc2.bias', 'float32', [2], Float32Array.of(5, -5))
  const replaced = replaceInitializers(model, [bias])
  t.same(Array.from(readInitializers(replaced).find((w) => w.name === 'fc2.bias')?.data as Float32Array), [5, -5])
  t.same(Array.from(readInitializers(model).find((w) => w.name === 'fc2.bias')?.data as Float32Array), [0, 0], 'the input model is untouched')
  // The replaced model runs with the new bias: a large bias decides the class.
  const out = await run(replaced, new Float32Array(4), [1, 4])
  t.ok((out.data[0] as number) > (out.data[1] as number))
  t.throws(() => replaceInitializers(model, [namedTensor('nope', 'float32', [2], new Float32Array(2))]), { code: 'CW_MODEL_INITIALIZER', details: { tensor: 'nope' } })
  t.throws(() => replaceInitializers(model, [namedTensor('fc2.bias', 'float32', [1, 2], new Float32Array(2))]), { code: 'CW_MODEL_INITIALIZER' })
  t.throws(() => replaceInitializers(model, [namedTensor('fc2.bias', 'int32', [2], new Int32Array(2))]), { code: 'CW_MODEL_INITIALIZER' })
  t.throws(() => replaceInitializers(model, [bias, bias]), { code: 'CW_MODEL_INITIALIZER' })
  t.throws(() => replaceInitializers(model, [{ name: 'fc2.bias', dtype: 'float32', shape: [2], data: Float32Array.of(Number.NaN, 0) }]), { code: 'CW_TENSOR_FORMAT' })
})

t.test('reference models: seeded, valid, and they run', async (t) => {
  t.same(encodeModel(buildDigitsMlp(7)), encodeModel(buildDigitsMlp(7)), 'same seed, same bytes')
  t.not(Buffer.from(encodeModel(buildDigitsMlp(7))).toString('hex'), Buffer.from(encodeModel(buildDigitsMlp(8))).toString('hex'), 'another seed, other weights')
  const digits = await run(buildDigitsMlp(1), new Float32Array(3 * 64).fill(0.5), [3, 64])
  t.same(digits.dims, [3, 10])
  const p = Array.from(digits.data as Float32Array).slice(0, 10).reduce((s, v) => s + Math.exp(v), 0)
  t.ok(Math.abs(p - 1) < 1e-5, 'the output is log-probabilities')
  t.same((await run(buildWineMlp(1), new Float32Array(13), [1, 13])).dims, [1, 3])
  const cnn = buildCnn1d({ channels: 3, length: 64, classes: 5, filters: [8, 16], kernel: 5, hidden: 32, seed: 1 })
  t.same((await run(cnn, new Float32Array(2 * 3 * 64).map((_, i) => Math.sin(i)), [2, 3, 64])).dims, [2, 5])
  const ae = buildAutoencoder({ inputs: 32, hidden: [16], latent: 4, seed: 1 })
  t.same((await run(ae, new Float32Array(4 * 32), [4, 32])).dims, [4, 32])
  for (const m of [buildDigitsMlp(1), cnn, ae]) t.same(listUnsupportedOps(m), [], `${m.graph?.name} is trainable`)
  t.throws(() => buildMlp({ inputs: 0, hidden: [], classes: 2, seed: 1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'inputs' } })
  t.throws(() => buildMlp({ inputs: 4, hidden: [1e9], classes: 2, seed: 1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'hidden[0]' } })
  t.throws(() => buildMlp({ inputs: 4, hidden: [], classes: 1, seed: 1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'classes' } })
  t.throws(() => buildMlp({ inputs: 4, hidden: [], classes: 2, seed: -1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'seed' } })
  t.throws(() => buildCnn1d({ channels: 1, length: 3, classes: 2, filters: [4, 4], kernel: 3, hidden: 4, seed: 1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'length' } })
  t.throws(() => buildCnn1d({ channels: 1, length: 32, classes: 2, filters: [4], kernel: 4, hidden: 4, seed: 1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'kernel' } })
})

t.test('graph builder writes typed attributes and refuses reused names', async (t) => {
  const g = new GraphBuilder('leaky')
  g.input('input', 'float32', ['N', 2])
  const y = g.node('LeakyRelu', ['input'], { alpha: float(0.5) })
  g.node('Identity', [y], {}, 'output')
  g.output('output', 'float32', ['N', 2])
  const out = await run(g.build(), Float32Array.of(-2, 3), [1, 2])
  t.same(Array.from(out.data as Float32Array), [-1, 3])
  t.throws(() => g.input('input', 'float32', [1]), { code: 'CW_MODEL_FORMAT' })
  t.throws(() => g.node('LeakyRelu', ['input'], { alpha: 0.5 }), { code: 'CW_MODEL_FORMAT' }, 'a non-integer plain number is refused')
})

t.test('ops outside the trainable set are listed with their nodes', async (t) => {
  t.ok(TRAINABLE_OPS.includes('Conv') && TRAINABLE_OPS.includes('Gemm'))
  const g = new GraphBuilder('user')
  g.input('input', 'float32', ['N', 4])
  const a = g.node('Relu', ['input'])
  const b = g.node('Erf', [a])
  g.nodeN('FusedGemm', [b], ['output'], {}, 'fused')
  g.output('output', 'float32', ['N', 4])
  const model = g.build()
  const fused = model.graph?.node?.[2]
  if (fused !== undefined && fused !== null) fused.domain = 'com.microsoft'
  t.same(listUnsupportedOps(model), [
    { op: 'Erf', node: 'erf', index: 1 },
    { op: 'com.microsoft:FusedGemm', node: 'fused', index: 2 },
  ])
  t.throws(() => assertTrainable(model), { code: 'CW_MODEL_UNSUPPORTED_OP', name: 'UnsupportedOpError', details: { op: 'Erf', node: 'erf' } })
  t.doesNotThrow(() => assertTrainable(buildDigitsMlp(1)))
})

t.test('hostile bytes: decoding and deriving a training graph give typed errors, never a crash', async (t) => {
  const { BaseError } = await import('../../../protocols/errors.js')
  const { buildTrainingGraph } = await import('../../../edge-agent/training/training-graph.js')
  const seedBytes = [
    encodeModel(buildDigitsMlp(1)),
    encodeModel(buildCnn1d({ channels: 2, length: 16, classes: 3, filters: [4], kernel: 3, hidden: 8, seed: 1 })),
  ]
  // A deterministic stream of mutations: flipped bytes, truncations, random bytes.
  let state = 12345
  const next = (): number => {
    state = (state * 1103515245 + 12345) >>> 0
    return state
  }
  let decoded = 0
  let refused = 0
  for (let i = 0; i < 400; i++) {
    const base = seedBytes[i % seedBytes.length] as Uint8Array
    let bytes: Uint8Array
    if (i % 4 === 0) bytes = Uint8Array.from({ length: next() % 300 }, () => next() & 0xff)
    else if (i % 4 === 1) bytes = base.subarray(0, next() % base.length)
    else {
      bytes = Uint8Array.from(base)
      for (let k = 0; k < 1 + (i % 5); k++) bytes[next() % bytes.length] = next() & 0xff
    }
    try {
      const model = decodeModel(bytes)
      decoded++
      buildTrainingGraph(model, { loss: 'cross-entropy', optimizer: 'adam' })
    } catch (err) {
      refused++
      if (!(err instanceof BaseError)) {
        t.fail(`mutation ${i}: ${String(err)}`)
        return
      }
    }
  }
  t.ok(refused > 0 && decoded > 0, `${decoded} of 400 mutations decoded; ${refused} refused (by decoding or by the training-graph derivation) with typed errors`)
})
