import { InvalidArgumentError } from '../../protocols/index.js'
import { executionProvidersFor, type HardwareProfile } from '../accelerators/index.js'
import { ENGINE_NODE, ENGINE_WEB } from './constants.js'
import type { InferenceEngine } from './engine.js'
import { createOrtNodeEngine, loadOrtNode } from './ort-node-engine.js'
import { OrtWebEngine } from './ort-web-engine.js'

export type EngineName = typeof ENGINE_WEB | typeof ENGINE_NODE | 'auto'

export interface CreateEngineParameters {
  /** `auto`: onnxruntime-node where it loads, else onnxruntime-web. Default `auto`. */
  engine?: EngineName
  /** For onnxruntime-node: providers to try, best first. Default: those of `profile`. */
  executionProviders?: readonly string[]
  /** The device's hardware profile (detectHardware): gives the provider order. */
  profile?: HardwareProfile
  threads?: number
}

export async function createEngine(parameters: CreateEngineParameters = {}): Promise<InferenceEngine> {
  const { engine = 'auto', profile, threads } = parameters
  const executionProviders = parameters.executionProviders ?? (profile === undefined ? undefined : executionProvidersFor(profile))
  const nodeOptions = { ...(executionProviders === undefined ? {} : { executionProviders }), ...(threads === undefined ? {} : { threads }) }
  switch (engine) {
    case ENGINE_WEB:
      return new OrtWebEngine(threads === undefined ? {} : { threads })
    case ENGINE_NODE:
      return createOrtNodeEngine(nodeOptions)
    case 'auto':
      return (await loadOrtNode()) === undefined ? new OrtWebEngine(threads === undefined ? {} : { threads }) : createOrtNodeEngine(nodeOptions)
    default:
      throw new InvalidArgumentError('engine', `expected ${ENGINE_WEB}, ${ENGINE_NODE} or auto, got ${String(engine)}`)
  }
}
