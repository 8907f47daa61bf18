// The inference engine interface, in the abstract-level style: each public method validates its
// arguments and the engine's state, then calls the backend's protected method. Backends declare
// what they support. test/hardware/inference/conformance.ts runs against every backend.
import { BaseError, DTYPES, elementCount, type DType } from '../../protocols/index.js'
import { EngineStateError, InferenceInputError, InferenceRunError, ModelLoadError } from '../errors.js'
import { SerialQueue } from '../serial-queue.js'
import { LOAD_TIMEOUT_MS, MAX_BATCH, MAX_MODEL_BYTES, RUN_TIMEOUT_MS } from './constants.js'
import type { Inputs, Outputs, Tensor, ValueInfo } from './tensor.js'

export interface EngineSupports {
  readonly engine: string
  /** Execution providers in the order this engine tries them. */
  readonly executionProviders: readonly string[]
  /** Whether the thread count can be configured. */
  readonly threads: boolean
  readonly dtypes: readonly DType[]
}

export interface EngineCallOptions {
  signal?: AbortSignal
}

export interface ModelInfo {
  inputs: ValueInfo[]
  outputs: ValueInfo[]
}

type State = 'new' | 'loading' | 'loaded' | 'disposed'

/** Rejects with the signal's reason as soon as it aborts; the work itself goes on. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err as Error)
      },
    )
  })
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DOMException(`run took longer than ${ms} ms`, 'TimeoutError')), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

export abstract class InferenceEngine {
  abstract readonly supports: EngineSupports
  #state: State = 'new'
  #info: ModelInfo = { inputs: [], outputs: [] }
  /** Runs are serialised: one session runs one graph at a time. */
  readonly #queue = new SerialQueue()

  get inputs(): readonly ValueInfo[] {
    return this.#info.inputs
  }

  get outputs(): readonly ValueInfo[] {
    return this.#info.outputs
  }

  get loaded(): boolean {
    return this.#state === 'loaded'
  }

  /** Creates the session from ONNX model bytes and warms it up with one run on zeros. */
  async load(model: Uint8Array, options: EngineCallOptions = {}): Promise<ModelInfo> {
    const engine = this.supports.engine
    if (!(model instanceof Uint8Array)) throw new ModelLoadError(engine, 'model must be a Uint8Array of ONNX bytes')
    if (model.length === 0) throw new ModelLoadError(engine, 'model is empty')
    if (model.length > MAX_MODEL_BYTES) throw new ModelLoadError(engine, `model of ${model.length} bytes exceeds ${MAX_MODEL_BYTES}`)
    if (this.#state !== 'new') throw new EngineStateError(engine, `load() on an engine that is ${this.#state}; create a new engine per model`)
    const signal = options.signal ?? AbortSignal.timeout(LOAD_TIMEOUT_MS)
    this.#state = 'loading'
    try {
      const info = await raceAbort(this._load(model), signal)
      for (const value of [...info.inputs, ...info.outputs])
        if (!Object.hasOwn(DTYPES, value.dtype)) throw new ModelLoadError(engine, `${value.name} has dtype ${value.dtype}, which engines do not exchange`)
      this.#info = info
      this.#state = 'loaded'
      await this.#warmUp(signal)
      return info
    } catch (err) {
      this.#state = 'new'
      await this._dispose()
      const aborted = err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')
      if (err instanceof BaseError || aborted) throw err
      throw new ModelLoadError(engine, err instanceof Error ? err.message : String(err), { cause: err })
    }
  }

  /** Runs the model once. Inputs are checked against the model's names, dtypes and shapes first. */
  async run(inputs: Inputs, options: EngineCallOptions = {}): Promise<Outputs> {
    this.#requireLoaded()
    options.signal?.throwIfAborted()
    this.#checkInputs(inputs)
    const job = this.#enqueue(inputs)
    // Without a caller's signal, a plain timer bounds the run: an AbortSignal.timeout per call
    // was a measurable share of a small model's run time (bench/ml.ts).
    return options.signal === undefined ? withTimeout(job, RUN_TIMEOUT_MS) : raceAbort(job, options.signal)
  }

  /**
   * Runs several samples. Where every input and output has a symbolic first dimension, the
   * samples are joined into one batch and the outputs split again; otherwise they run one by one.
   */
  async runBatch(samples: readonly Inputs[], options: EngineCallOptions = {}): Promise<Outputs[]> {
    this.#requireLoaded()
    if (!Array.isArray(samples) || samples.length === 0 || samples.length > MAX_BATCH)
      throw new InferenceInputError('samples', `expected 1..${MAX_BATCH} samples`)
    const signal = options.signal ?? AbortSignal.timeout(RUN_TIMEOUT_MS)
    for (const sample of samples) this.#checkInputs(sample)
    const batchable = [...this.#info.inputs, ...this.#info.outputs].every((v) => typeof v.shape[0] === 'string')
    if (!batchable || samples.length === 1) {
      const results: Outputs[] = []
      for (const sample of samples) results.push(await this.run(sample, { signal }))
      return results
    }
    const joined: Record<string, Tensor> = {}
    for (const { name } of this.#info.inputs) joined[name] = concatFirstAxis(samples.map((s) => s[name] as Tensor))
    this.#checkInputs(joined)
    const out = await raceAbort(this.#enqueue(joined), signal)
    const sizes = samples.map((s) => (s[this.#info.inputs[0]?.name ?? ''] as Tensor).shape[0] ?? 1)
    return splitFirstAxis(out, sizes)
  }

  async dispose(): Promise<void> {
    if (this.#state === 'disposed') return
    this.#state = 'disposed'
    // Let a run in flight finish before its session goes away.
    await this.#queue.drain()
    await this._dispose()
  }

  protected abstract _load(model: Uint8Array): Promise<ModelInfo>
  protected abstract _run(inputs: Inputs): Promise<Outputs>
  protected abstract _dispose(): Promise<void>

  #enqueue(inputs: Inputs): Promise<Outputs> {
    return this.#queue.run(() => this._run(inputs)).catch((err: unknown) => {
      throw err instanceof InferenceRunError ? err : new InferenceRunError(this.supports.engine, err instanceof Error ? err.message : String(err), { cause: err })
    })
  }

  #requireLoaded(): void {
    if (this.#state !== 'loaded') throw new EngineStateError(this.supports.engine, `run() on an engine that is ${this.#state}`)
  }

  #checkInputs(inputs: Inputs): void {
    if (inputs === null || typeof inputs !== 'object') throw new InferenceInputError('inputs', 'expected an object of named tensors')
    const expected = new Set(this.#info.inputs.map((v) => v.name))
    for (const name of Object.keys(inputs)) if (!expected.has(name)) throw new InferenceInputError(name, `the model has no such input (inputs: ${[...expected].join(', ')})`)
    const symbols = new Map<string, number>()
    for (const info of this.#info.inputs) {
      const t = inputs[info.name]
      if (t === undefined) throw new InferenceInputError(info.name, 'missing')
      if (t.dtype !== info.dtype) throw new InferenceInputError(info.name, `dtype ${String(t.dtype)}, the model takes ${info.dtype}`, { details: { expected: info.dtype, actual: t.dtype } })
      const ctor = DTYPES[t.dtype]
      if (!(t.data instanceof ctor)) throw new InferenceInputError(info.name, `data is not a ${ctor.name}`)
      if (!Array.isArray(t.shape) || t.shape.length !== info.shape.length)
        throw new InferenceInputError(info.name, `shape [${String(t.shape)}], the model takes [${info.shape.join(', ')}]`, { details: { expected: info.shape, actual: t.shape } })
      let count: number
      try {
        count = elementCount(t.shape, info.name)
      } catch (cause) {
        throw new InferenceInputError(info.name, cause instanceof Error ? cause.message : 'bad shape', { cause })
      }
      info.shape.forEach((dim, axis) => {
        const actual = t.shape[axis] as number
        if (typeof dim === 'number' && dim > 0 && dim !== actual)
          throw new InferenceInputError(info.name, `shape[${axis}] is ${actual}, the model takes ${dim}`, { details: { expected: info.shape, actual: t.shape } })
        if (typeof dim === 'string' && dim !== '') {
          const seen = symbols.get(dim)
          if (seen !== undefined && seen !== actual) throw new InferenceInputError(info.name, `dimension ${dim} is ${actual} here and ${seen} in another input`)
          symbols.set(dim, actual)
        }
      })
      if (t.data.length !== count) throw new InferenceInputError(info.name, `data has ${t.data.length} elements, shape needs ${count}`)
    }
  }

  async #warmUp(signal: AbortSignal): Promise<void> {
    // Symbolic dimensions become 1 for the warm-up; it makes the first real run as fast as the rest.
    const zeros: Record<string, Tensor> = {}
    for (const info of this.#info.inputs) {
      const shape = info.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1))
      const ctor = DTYPES[info.dtype as DType]
      zeros[info.name] = { dtype: info.dtype as DType, shape, data: new ctor(elementCount(shape, info.name)) as Tensor['data'] }
    }
    await raceAbort(this.#enqueue(zeros), signal)
  }
}

function concatFirstAxis(parts: readonly Tensor[]): Tensor {
  const first = parts[0] as Tensor
  const ctor = DTYPES[first.dtype]
  const data = new ctor(parts.reduce((n, p) => n + p.data.length, 0)) as Tensor['data']
  let offset = 0
  for (const p of parts) {
    ;(data as { set(src: ArrayLike<number | bigint>, at: number): void }).set(p.data as ArrayLike<number | bigint>, offset)
    offset += p.data.length
  }
  const rows = parts.reduce((n, p) => n + (p.shape[0] ?? 1), 0)
  return { dtype: first.dtype, shape: [rows, ...first.shape.slice(1)], data }
}

function splitFirstAxis(out: Outputs, sizes: readonly number[]): Outputs[] {
  const results: Outputs[] = sizes.map(() => ({}))
  for (const [name, t] of Object.entries(out)) {
    const rows = t.shape[0] ?? 1
    const perRow = rows === 0 ? 0 : t.data.length / rows
    let row = 0
    sizes.forEach((size, i) => {
      const data = t.data.slice(row * perRow, (row + size) * perRow) as Tensor['data']
      ;(results[i] as Outputs)[name] = { dtype: t.dtype, shape: [size, ...t.shape.slice(1)], data }
      row += size
    })
  }
  return results
}
