// onnxruntime-node: native ONNX Runtime, an optional dependency, used where it is installed for
// native speed and for the GPU/NPU execution providers of issue 3's hardware profile.
import type { InferenceSession } from 'onnxruntime-common'
import { InvalidArgumentError, type DType } from '../../protocols/index.js'
import { EngineUnavailableError } from '../errors.js'
import { ENGINE_NODE } from './constants.js'
import type { EngineSupports } from './engine.js'
import { OrtSessionEngine, type OrtModule } from './ort-session.js'

type OrtNodeModule = OrtModule & { listSupportedBackends(): { name: string; bundled: boolean }[] }

let loaded: Promise<OrtNodeModule | undefined> | undefined

/** onnxruntime-node, or undefined where it is not installed or its native binding does not load. */
export function loadOrtNode(): Promise<OrtNodeModule | undefined> {
  loaded ??= import('onnxruntime-node').then(
    (m) => m as unknown as OrtNodeModule,
    () => undefined, // not installed: an optional dependency, reported by EngineUnavailableError
  )
  return loaded
}

export interface OrtNodeEngineOptions {
  /** Execution providers to try, best first (e.g. a hardware profile's list); `cpu` is always appended. */
  executionProviders?: readonly string[]
  /** Intra-op threads of the CPU provider; ONNX Runtime's default when absent. */
  threads?: number
}

const DTYPES: readonly DType[] = ['float32', 'int32', 'int64', 'int8', 'uint8']

export class OrtNodeEngine extends OrtSessionEngine {
  readonly supports: EngineSupports
  readonly #threads: number | undefined
  readonly #module: OrtNodeModule

  /** Use `createOrtNodeEngine`, which loads the optional package first. */
  constructor(module: OrtNodeModule, options: OrtNodeEngineOptions = {}) {
    super()
    const { threads, executionProviders = [] } = options
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 256))
      throw new InvalidArgumentError('threads', 'must be an integer in 1..256')
    // Keep the requested providers this build of ONNX Runtime carries, in the requested order.
    const available = new Set(module.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name))
    const order = [...executionProviders.filter((ep) => ep !== 'cpu' && ep !== 'wasm' && available.has(ep)), 'cpu']
    this.supports = { engine: ENGINE_NODE, executionProviders: [...new Set(order)], threads: true, dtypes: DTYPES }
    this.#threads = threads
    this.#module = module
  }

  protected override async module(): Promise<OrtModule> {
    return this.#module
  }

  protected override sessionOptions(): InferenceSession.SessionOptions {
    return {
      executionProviders: [...this.supports.executionProviders],
      graphOptimizationLevel: 'all',
      ...(this.#threads === undefined ? {} : { intraOpNumThreads: this.#threads }),
    }
  }
}

export async function createOrtNodeEngine(options: OrtNodeEngineOptions = {}): Promise<OrtNodeEngine> {
  const module = await loadOrtNode()
  if (module === undefined) throw new EngineUnavailableError(ENGINE_NODE)
  return new OrtNodeEngine(module, options)
}
