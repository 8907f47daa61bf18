// The conformance suite every inference engine runs (abstract-level style).
import type { Test } from 'tap'
import type { InferenceEngine } from '../../../hardware/inference/index.js'
import { TINY_IN, TINY_OUT, fixedInt64Model, tinyDenseModel, tinyDenseReference, unknownOpModel } from '../../helpers/tiny-onnx.js'

export type EngineFactory = () => Promise<InferenceEngine>

const close = (a: Float32Array, b: Float32Array, tol: number) => a.length === b.length && a.every((v, i) => Math.abs(v - (b[i] as number)) <= tol)

export function conformance(t: Test, name: string, create: EngineFactory): void {
  t.test(`${name}: supports`, async (t) => {
    const engine = await create()
    t.equal(typeof engine.supports.engine, 'string')
    t.ok(engine.supports.executionProviders.length >= 1, 'lists its execution providers')
    t.ok(engine.supports.dtypes.includes('float32'))
    t.notOk(engine.loaded)
  })

  t.test(`${name}: load, run, batch and dispose`, async (t) => {
    const engine = await create()
    const info = await engine.load(tinyDenseModel())
    t.same(info.inputs, [{ name: 'x', dtype: 'float32', shape: ['N', TINY_IN] }], 'input metadata')
    t.same(info.outputs, [{ name: 'y', dtype: 'float32', shape: ['N', TINY_OUT] }], 'output metadata')
    const x = Float32Array.from({ length: 5 * TINY_IN }, (_, i) => Math.sin(i) * 2)
    const out = await engine.run({ x: { dtype: 'float32', shape: [5, TINY_IN], data: x } })
    const y = out.y
    t.same(y?.shape, [5, TINY_OUT])
    t.ok(y !== undefined && close(y.data as Float32Array, tinyDenseReference(x), 1e-5), 'matches the float64 reference within 1e-5')

    const samples = [0, 1, 2].map((s) => ({ x: { dtype: 'float32' as const, shape: [1, TINY_IN], data: x.slice(s * TINY_IN, (s + 1) * TINY_IN) } }))
    const batched = await engine.runBatch(samples)
    t.equal(batched.length, 3)
    t.ok(batched.every((o, s) => close(o.y?.data as Float32Array, tinyDenseReference(x.slice(s * TINY_IN, (s + 1) * TINY_IN)), 1e-5)), 'a batch splits back per sample')

    const parallel = await Promise.all([1, 2, 3, 4].map((n) => engine.run({ x: { dtype: 'float32', shape: [n, TINY_IN], data: x.slice(0, n * TINY_IN) } })))
    t.same(parallel.map((o) => o.y?.shape[0]), [1, 2, 3, 4], 'concurrent runs are serialised, each gets its own result')
    await engine.dispose()
    t.notOk(engine.loaded)
    await t.rejects(engine.run({ x: { dtype: 'float32', shape: [1, TINY_IN], data: new Float32Array(TINY_IN) } }), { code: 'CW_ENGINE_STATE' }, 'run after dispose')
    await engine.dispose()
    t.pass('dispose twice is harmless')
  })

  t.test(`${name}: fixed shapes and int64`, async (t) => {
    const engine = await create()
    await engine.load(fixedInt64Model())
    const a = { dtype: 'int64' as const, shape: [2, 2], data: BigInt64Array.from([1n, 2n, 3n, 2n ** 40n]) }
    const out = await engine.run({ a, b: a })
    t.same(Array.from(out.z?.data as BigInt64Array), [2n, 4n, 6n, 2n ** 41n])
    const batch = await engine.runBatch([{ a, b: a }, { a, b: a }])
    t.equal(batch.length, 2, 'a fixed-shape model runs a batch sample by sample')
    await engine.dispose()
  })

  t.test(`${name}: bad input gets typed errors naming the input, and the engine keeps serving`, async (t) => {
    const engine = await create()
    await t.rejects(engine.run({}), { code: 'CW_ENGINE_STATE' }, 'run before load')
    await t.rejects(engine.load(new Uint8Array([1, 2, 3, 4])), { code: 'CW_MODEL_LOAD' }, 'bytes that are not ONNX')
    await t.rejects(engine.load(new Uint8Array(0)), { code: 'CW_MODEL_LOAD' }, 'no bytes')
    await t.rejects(engine.load('model.onnx' as never), { code: 'CW_MODEL_LOAD' }, 'not bytes')
    await t.rejects(engine.load(unknownOpModel()), { code: 'CW_MODEL_LOAD' }, 'an operator the runtime lacks')
    await engine.load(tinyDenseModel())
    await t.rejects(engine.load(tinyDenseModel()), { code: 'CW_ENGINE_STATE' }, 'a second load')
    const good = { dtype: 'float32' as const, shape: [2, TINY_IN], data: new Float32Array(2 * TINY_IN) }
    const cases: [string, Record<string, unknown>, string][] = [
      ['wrong width', { x: { ...good, shape: [2, 5], data: new Float32Array(10) } }, 'x'],
      ['wrong rank', { x: { ...good, shape: [8] } }, 'x'],
      ['wrong dtype', { x: { dtype: 'int32', shape: [2, TINY_IN], data: new Int32Array(8) } }, 'x'],
      ['dtype and data disagree', { x: { ...good, data: new Int32Array(8) } }, 'x'],
      ['data shorter than shape', { x: { ...good, data: new Float32Array(7) } }, 'x'],
      ['negative dimension', { x: { ...good, shape: [-2, TINY_IN] } }, 'x'],
      ['missing input', {}, 'x'],
      ['unknown input', { x: good, extra: good }, 'extra'],
    ]
    for (const [what, inputs, input] of cases)
      await t.rejects(engine.run(inputs as never), { code: 'CW_INFERENCE_INPUT', details: { input } }, what)
    await t.rejects(engine.runBatch([]), { code: 'CW_INFERENCE_INPUT' }, 'an empty batch')
    await t.rejects(engine.run({ x: good }, { signal: AbortSignal.abort() }), { name: 'AbortError' }, 'an aborted signal')
    const out = await engine.run({ x: good })
    t.same(out.y?.shape, [2, TINY_OUT], 'still serving after every refusal')
    await engine.dispose()
  })
}
