import t from 'tap'
import { fileURLToPath } from 'node:url'
import { detectHardware } from '../../../hardware/accelerators/index.js'
import { OrtWebEngine, createEngine, createOrtNodeEngine, loadOrtNode, type InferenceEngine } from '../../../hardware/inference/index.js'
import { conformance } from './conformance.js'

conformance(t, 'onnxruntime-web', async () => new OrtWebEngine())

// onnxruntime-node is optional; here it is installed, and the suite must run on it too.
t.ok((await loadOrtNode()) !== undefined, 'onnxruntime-node is installed on this machine')
conformance(t, 'onnxruntime-node', () => createOrtNodeEngine({ executionProviders: ['tensorrt', 'cuda', 'cpu'] }))

t.test('engine selection', async (t) => {
  const node = await createOrtNodeEngine({ executionProviders: ['nnapi', 'cuda', 'cpu'] })
  t.equal(node.supports.executionProviders.at(-1), 'cpu', 'cpu is always last')
  t.notOk(node.supports.executionProviders.includes('nnapi'), 'providers this build lacks are left out')
  const auto: InferenceEngine = await createEngine()
  t.equal(auto.supports.engine, 'onnxruntime-node', 'auto picks the native engine where it is installed')
  t.equal((await createEngine({ engine: 'onnxruntime-web' })).supports.engine, 'onnxruntime-web')
  const jetson = await detectHardware({ root: fileURLToPath(new URL('../../fixtures/accelerators/jetson-orin-nano', import.meta.url)) })
  t.same(jetson.executionProviders.slice(0, 2), ['tensorrt', 'cuda'], 'a Jetson profile asks for TensorRT, then CUDA')
  const fromProfile = await createEngine({ engine: 'onnxruntime-node', profile: jetson.profile })
  t.equal(fromProfile.supports.executionProviders.at(-1), 'cpu', 'providers this build lacks fall back to cpu')
  await t.rejects(createEngine({ engine: 'tflite' as never }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'engine' } })
  t.throws(() => new OrtWebEngine({ threads: 0 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'threads' } })
  await t.rejects(createOrtNodeEngine({ threads: 1.5 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'threads' } })
})
