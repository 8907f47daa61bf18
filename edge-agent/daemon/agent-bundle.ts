// device.json as the daemon reads it: the bundle (hardware/bundle) and its `agent` section, both
// validated before anything opens, with every relative path made absolute against the directory
// of device.json, so that the daemon means the same whatever directory it is started from.
import { dirname, isAbsolute, resolve } from 'node:path'
import { ConfigError } from '../../protocols/errors.js'
// The bundle's files only: `cw agent status` reads them without loading sensors, keys or ONNX Runtime.
import { parseDeviceBundle, readJsonConfig, resolveBundlePaths, type DeviceBundle } from '../../hardware/bundle/index.js'
import { parseAgentConfig, type AgentConfig } from './config.js'
import { STATUS_FILE } from './constants.js'

export interface AgentBundle {
  /** device.json, absolute. */
  file: string
  /** Its directory: where relative paths start. */
  baseDir: string
  /** The bundle with keyStore and transportKeyDir absolute. */
  bundle: DeviceBundle
  /** The `agent` section with dataDir absolute. */
  config: AgentConfig
  /** `<dataDir>/status.json`. */
  statusFile: string
}

/** Validates a parsed device.json for the daemon: the bundle, then its `agent` section (errors name `agent.<field>`). */
export function parseAgentBundle(value: unknown, file = 'device.json'): AgentBundle {
  const parsed = parseDeviceBundle(value, file)
  const config = parseAgentConfig(parsed.agent, file)
  if (parsed.fleet.chain.rpcUrl === undefined)
    throw new ConfigError(file, 'fleet.chain.rpcUrl', 'the agent needs a JSON-RPC URL to check that models are settled on chain')
  const absolute = resolve(file)
  const baseDir = dirname(absolute)
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p))
  const bundle: DeviceBundle = resolveBundlePaths(parsed, baseDir)
  const dataDir = at(config.dataDir)
  return { file: absolute, baseDir, bundle, config: { ...config, dataDir }, statusFile: resolve(dataDir, STATUS_FILE) }
}

export async function readAgentBundle(file: string): Promise<AgentBundle> {
  return readJsonConfig(file, parseAgentBundle)
}
