// The validation evaluator scores real ONNX models with real ONNX Runtime sessions (onnxruntime-web
// and onnxruntime-node), and its accuracy agrees with a plain forward pass computed here from the
// model's own initializers.
import t from 'tap'
import { createEngine } from '../../../hardware/inference/index.js'
import { buildDigitsMlp, buildWineMlp, decodeModel, encodeModel, readInitializers, type ModelProto } from '../../../protocols/index.js'
import { permutation, seededGenerator, train } from '../../../edge-agent/training/index.js'
import { checkValidationSet, createValidationEvaluator, type ValidationSet } from '../../../gateway/rounds/index.js'
import { loadDigits, subset } from '../../helpers/datasets.js'

const digits = loadDigits()
const order = permutation(digits.count, seededGenerator(5))
const validationPart = subset(digits, order.subarray(0, 360))
const trainingPart = subset(digits, order.subarray(360))
const validation: ValidationSet = { features: validationPart.features, labels: validationPart.labels, width: 64 }

const untrained = buildDigitsMlp(3, [16])
const trained = (await train(untrained, { features: trainingPart.features, sampleShape: [64], labels: trainingPart.labels }, { epochs: 3, batchSize: 32, lr: 0.1, optimizer: 'sgd', seed: 1 })).model

/**
 * The plain computation: x → Gemm(fc1) → Relu → Gemm(fc2) in float64, argmax (LogSoftmax keeps
 * the order). Also counts samples whose two best logits are closer than float32 can be trusted to
 * order, where ONNX Runtime's float32 arithmetic may legitimately pick the other class.
 */
function plainAccuracy(model: ModelProto, set: ValidationSet): { correct: number; close: number } {
  const w = new Map(readInitializers(model, { floatOnly: true }).map((x) => [x.name, x]))
  const get = (name: string) => {
    const tensor = w.get(name)
    if (tensor === undefined) throw new Error(`no initializer ${name}`)
    return tensor
  }
  const layers = [get('fc1.weight'), get('fc2.weight')].map((weight, i) => ({ weight, bias: get(`fc${i + 1}.bias`) }))
  let correct = 0
  let close = 0
  for (let s = 0; s < set.labels.length; s++) {
    let x = Array.from(set.features.subarray(s * set.width, (s + 1) * set.width))
    layers.forEach(({ weight, bias }, l) => {
      const [outputs = 0, inputs = 0] = weight.shape
      const y = new Array<number>(outputs).fill(0)
      for (let o = 0; o < outputs; o++) {
        let sum = bias.data[o] as number
        for (let i = 0; i < inputs; i++) sum += (weight.data[o * inputs + i] as number) * (x[i] as number)
        y[o] = l < layers.length - 1 ? Math.max(0, sum) : sum
      }
      x = y
    })
    const sorted = [...x].sort((a, b) => b - a)
    if ((sorted[0] as number) - (sorted[1] as number) < 1e-4) close++
    if (x.indexOf(sorted[0] as number) === set.labels[s]) correct++
  }
  return { correct, close }
}

for (const engine of ['onnxruntime-web', 'onnxruntime-node'] as const) {
  t.test(`accuracy on ${engine} agrees with a plain forward pass`, async (t) => {
    const evaluate = createValidationEvaluator({ validation, createEngine: () => createEngine({ engine }) })
    for (const [which, model] of [['untrained', untrained], ['trained', trained]] as const) {
      const score = await evaluate(encodeModel(model))
      const plain = plainAccuracy(model, validation)
      t.ok(plain.close <= 3, `${which}: ${plain.close} samples have near-tied logits`)
      t.ok(Math.abs(score * 360 - plain.correct) <= plain.close, `${which}: ${engine} ${(score * 100).toFixed(1)} %, plain ${((plain.correct / 360) * 100).toFixed(1)} %`)
      if (which === 'trained') t.ok(score > 0.85, `the trained model is good (${(score * 100).toFixed(1)} %)`)
      else t.ok(score < 0.5, `the untrained model is not (${(score * 100).toFixed(1)} %)`)
    }
  })
}

t.test('batches: any batch size, and a fixed batch dimension padded at the end', async (t) => {
  const bytes = encodeModel(trained)
  const reference = await createValidationEvaluator({ validation, createEngine: () => createEngine({ engine: 'onnxruntime-web' }) })(bytes)
  for (const batchSize of [1, 7, 360, 1000]) {
    const score = await createValidationEvaluator({ validation, batchSize, createEngine: () => createEngine({ engine: 'onnxruntime-web' }) })(bytes)
    t.equal(score, reference, `batch size ${batchSize}`)
  }
  // The same weights with the batch fixed at 50: 360 = 7 × 50 + 10, the last run padded with zeros.
  const fixed = decodeModel(bytes)
  for (const value of [...(fixed.graph?.input ?? []), ...(fixed.graph?.output ?? [])]) {
    const dim = value.type?.tensorType?.shape?.dim?.[0]
    if (dim === undefined) throw new Error('the model has no batch dimension')
    delete dim.dimParam
    dim.dimValue = 50
  }
  const fixedScore = await createValidationEvaluator({ validation, createEngine: () => createEngine({ engine: 'onnxruntime-web' }) })(encodeModel(fixed))
  t.equal(fixedScore, reference, 'a fixed batch of 50 scores the same')
})

t.test('a model that does not fit the set is an EvaluationError naming what', async (t) => {
  const evaluate = createValidationEvaluator({ validation, createEngine: () => createEngine({ engine: 'onnxruntime-web' }) })
  await t.rejects(evaluate(encodeModel(buildWineMlp(1))), { code: 'CW_EVALUATION', details: { field: 'inputs', width: 64 } }, '13 inputs for samples of 64 features')
  await t.rejects(evaluate(new Uint8Array([1, 2, 3, 4])), { code: 'CW_EVALUATION', message: /does not load/ }, 'bytes that are no model')
  // Wine has 3 classes; samples of 13 features with digit labels up to 9 need 10.
  const wineShaped = createValidationEvaluator({
    validation: { features: new Float32Array(13 * 4), labels: [0, 1, 2, 9], width: 13 },
    createEngine: () => createEngine({ engine: 'onnxruntime-web' }),
  })
  await t.rejects(wineShaped(encodeModel(buildWineMlp(1))), { code: 'CW_EVALUATION', details: { field: 'output' } }, '3 output classes for labels up to 9')
  const controller = new AbortController()
  controller.abort()
  await t.rejects(evaluate(encodeModel(trained), { signal: controller.signal }), { name: 'AbortError' }, 'an aborted evaluation rejects with the abort, not an EvaluationError')
  t.throws(() => createValidationEvaluator({ validation, batchSize: 0 }), { code: 'CW_EVALUATION', details: { field: 'batchSize' } })
})

t.test('a bad validation set is a ValidationSetError naming the field', async (t) => {
  const good = { features: new Float32Array([0, 1, 2, 3]), labels: [1, 0], width: 2 }
  const nan = new Float32Array([0, 1, Number.NaN, 3])
  const cases: [string, unknown, string][] = [
    ['no width', { ...good, width: 0 }, 'width'],
    ['a fractional width', { ...good, width: 1.5 }, 'width'],
    ['features as a plain array', { ...good, features: [0, 1, 2, 3] }, 'features'],
    ['no labels', { ...good, labels: [] }, 'labels'],
    ['lengths that disagree', { ...good, labels: [1, 0, 1] }, 'features'],
    ['a NaN feature', { ...good, features: nan }, 'features.2'],
    ['a negative label', { ...good, labels: [1, -1] }, 'labels.1'],
    ['a fractional label', { ...good, labels: [0.5, 1] }, 'labels.0'],
    ['a label beyond the class cap', { ...good, labels: [70_000, 1] }, 'labels.0'],
    ['not an object', null, 'set'],
  ]
  for (const [what, set, field] of cases) {
    t.throws(() => checkValidationSet(set as ValidationSet), { code: 'CW_VALIDATION_SET', details: { field } }, what)
    t.throws(() => createValidationEvaluator({ validation: set as ValidationSet }), { code: 'CW_VALIDATION_SET', details: { field } }, `${what}, at the evaluator`)
  }
  const copy = checkValidationSet(good)
  good.features[0] = 99
  t.equal(copy.features[0], 0, 'the evaluator keeps a copy: later changes to the caller’s arrays do not leak in')
})
