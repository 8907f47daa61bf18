// onnxruntime-web: ONNX Runtime compiled to WebAssembly (SIMD, optional threads). The default
// engine everywhere: it needs no native build and runs the same on every board.
import * as ort from 'onnxruntime-web'
import type { InferenceSession } from 'onnxruntime-common'
import { InvalidArgumentError, type DType } from '../../protocols/index.js'
import { DEFAULT_WASM_THREADS, ENGINE_WEB } from './constants.js'
import type { EngineSupports } from './engine.js'
import { OrtSessionEngine, type OrtModule } from './ort-session.js'

export interface OrtWebEngineOptions {
  /**
   * WebAssembly threads. ONNX Runtime reads this once, when the process creates its first
   * session, so every onnxruntime-web engine of a process shares the first value.
   */
  threads?: number
}

const DTYPES: readonly DType[] = ['float32', 'int32', 'int64', 'int8', 'uint8']

export class OrtWebEngine extends OrtSessionEngine {
  readonly supports: EngineSupports = { engine: ENGINE_WEB, executionProviders: ['wasm'], threads: true, dtypes: DTYPES }
  readonly #threads: number

  constructor(options: OrtWebEngineOptions = {}) {
    super()
    const threads = options.threads ?? DEFAULT_WASM_THREADS
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new InvalidArgumentError('threads', 'must be an integer in 1..64')
    this.#threads = threads
  }

  protected override async module(): Promise<OrtModule> {
    ort.env.wasm.numThreads = this.#threads
    return ort as unknown as OrtModule
  }

  protected override sessionOptions(): InferenceSession.SessionOptions {
    return { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }
  }
}
