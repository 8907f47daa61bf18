// Scores each new model on the gateway's validation set with the inference engine of
// hardware/inference (the runtime devices use): the accuracy the RoundRunner's `evaluate` hook
// compares between a round's parent and its aggregate.
import { createEngine, MAX_BATCH, type InferenceEngine, type ValueInfo } from '../../hardware/inference/index.js'
import { EvaluationError, ValidationSetError } from '../errors.js'
import { MAX_VALIDATION_CLASSES, VALIDATION_BATCH } from './constants.js'

/** Labelled samples: row-major float32 features and one integer class index per sample. */
export interface ValidationSet {
  /** Sample `i` is `features[i * width, (i + 1) * width)`. */
  readonly features: Float32Array
  readonly labels: ArrayLike<number>
  /** Features per sample. */
  readonly width: number
}

/** A copy of `set` after checking it: lengths agree, features are finite, labels are class indices. */
export function checkValidationSet(set: ValidationSet, source = '(arrays)'): ValidationSet {
  const fail = (field: string, problem: string): never => {
    throw new ValidationSetError(source, `${field} ${problem}`, { details: { field } })
  }
  if (set === null || typeof set !== 'object') fail('set', 'must be an object')
  const { features, labels, width } = set
  if (!Number.isSafeInteger(width) || width < 1) fail('width', 'must be a positive integer')
  if (!(features instanceof Float32Array)) fail('features', 'must be a Float32Array')
  if (labels === null || typeof labels !== 'object' || !Number.isSafeInteger(labels.length)) fail('labels', 'must be an array of integers')
  const count = labels.length
  if (count === 0) fail('labels', 'is empty: a validation set needs at least one sample')
  if (features.length !== count * width) fail('features', `has ${features.length} values, ${count} samples of ${width} need ${count * width}`)
  for (let i = 0; i < features.length; i++) if (!Number.isFinite(features[i])) fail(`features.${i}`, 'is not finite')
  const copy = new Int32Array(count)
  for (let i = 0; i < count; i++) {
    const label = labels[i] as number
    if (!Number.isInteger(label) || label < 0 || label >= MAX_VALIDATION_CLASSES) fail(`labels.${i}`, `must be an integer class index in 0..${MAX_VALIDATION_CLASSES - 1}, got ${label}`)
    copy[i] = label
  }
  return { features: features.slice(), labels: copy, width }
}

export interface CreateValidationEvaluatorParameters {
  readonly validation: ValidationSet
  /** A fresh engine per model (an engine loads one model). Default: `createEngine()`, onnxruntime-node where installed, else onnxruntime-web. */
  readonly createEngine?: () => InferenceEngine | Promise<InferenceEngine>
  /** Samples per run where the model's batch dimension is symbolic. Default VALIDATION_BATCH. */
  readonly batchSize?: number
}

export interface EvaluateOptions {
  signal?: AbortSignal
}

/** Scores ONNX model bytes: the share of validation samples whose largest output is their label. */
export type ValidationEvaluator = (model: Uint8Array, options?: EvaluateOptions) => Promise<number>

const isAbort = (err: unknown): boolean => err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')

const product = (dims: readonly (number | string)[]): number | undefined =>
  dims.every((d) => typeof d === 'number' && d > 0) ? (dims as number[]).reduce((a, b) => a * b, 1) : undefined

/** The first index of the largest of `classes` values from `offset` (ties go to the lower class). */
function argmax(values: Float32Array, offset: number, classes: number): number {
  let best = 0
  let max = values[offset] as number
  for (let c = 1; c < classes; c++) {
    const v = values[offset + c] as number
    if (v > max) {
      max = v
      best = c
    }
  }
  return best
}

/**
 * The `evaluate` hook for RoundRunner: accuracy on `validation`. The set is checked and copied
 * once, here; each call loads the model into a fresh engine, runs the set through it in batches
 * and disposes of the engine.
 */
export function createValidationEvaluator(parameters: CreateValidationEvaluatorParameters): ValidationEvaluator {
  const set = checkValidationSet(parameters.validation)
  const batchSize = parameters.batchSize ?? VALIDATION_BATCH
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) throw new EvaluationError(`batchSize must be an integer in 1..${MAX_BATCH}`, { details: { field: 'batchSize' } })
  const make = parameters.createEngine ?? (() => createEngine())
  const count = set.labels.length
  let maxLabel = 0
  for (let i = 0; i < count; i++) maxLabel = Math.max(maxLabel, set.labels[i] as number)

  return async (model, options = {}) => {
    const engine = await make()
    try {
      try {
        await engine.load(model, options)
      } catch (cause) {
        if (isAbort(cause)) throw cause
        throw new EvaluationError(`the model does not load: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
      }
      const { input, output, fixedBatch } = layout(engine.inputs, engine.outputs, set.width)
      const batch = fixedBatch ?? batchSize
      let correct = 0
      for (let start = 0; start < count; start += batch) {
        options.signal?.throwIfAborted()
        const n = Math.min(batch, count - start)
        // A fixed batch dimension takes exactly `batch` samples: the last one is padded with zeros.
        const rows = fixedBatch ?? n
        const data = new Float32Array(rows * set.width)
        data.set(set.features.subarray(start * set.width, (start + n) * set.width))
        const out = (await engine.run({ [input.name]: { dtype: 'float32', shape: [rows, ...(input.shape.slice(1) as number[])], data } }, options))[output.name]
        if (out === undefined || !(out.data instanceof Float32Array) || out.data.length % rows !== 0)
          throw new EvaluationError(`output ${output.name} is not a float32 tensor of ${rows} rows`, { details: { field: 'output' } })
        const classes = out.data.length / rows
        if (classes <= maxLabel) throw new EvaluationError(`output ${output.name} has ${classes} classes, the labels need ${maxLabel + 1}`, { details: { field: 'output' } })
        for (let i = 0; i < n; i++) if (argmax(out.data, i * classes, classes) === set.labels[start + i]) correct++
      }
      return correct / count
    } catch (err) {
      if (err instanceof EvaluationError || isAbort(err)) throw err
      throw new EvaluationError(`the engine failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    } finally {
      await engine.dispose()
    }
  }
}

/** The model's one float32 input of `width` features per sample and its first output. */
function layout(inputs: readonly ValueInfo[], outputs: readonly ValueInfo[], width: number): { input: ValueInfo; output: ValueInfo; fixedBatch?: number } {
  const input = inputs[0]
  const output = outputs[0]
  if (inputs.length !== 1 || input === undefined) throw new EvaluationError(`the model takes ${inputs.length} inputs, a validation set feeds one`, { details: { field: 'inputs' } })
  if (output === undefined) throw new EvaluationError('the model has no output', { details: { field: 'outputs' } })
  if (input.dtype !== 'float32') throw new EvaluationError(`input ${input.name} is ${input.dtype}, the validation features are float32`, { details: { field: 'inputs' } })
  const [first, ...rest] = input.shape
  const perSample = product(rest)
  if (first === undefined || perSample !== width)
    throw new EvaluationError(`input ${input.name} [${input.shape.join(', ')}] does not take samples of ${width} features`, { details: { field: 'inputs', width } })
  return typeof first === 'number' && first > 0 ? { input, output, fixedBatch: first } : { input, output }
}
