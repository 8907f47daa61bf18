// device.json as the daemon reads it: the bundle (hardware/bundle) and its `agent` section, both
// validated before anything opens, with every relative path made absolute against the directory
// of device.json, so that the daemon means the same whatever directory it is started from.
import { dirname, isAbsolute, resolve } from 'node:path'
import { ConfigError } from '../../protocols/errors.js'
// The bundle's files only: `cw agent status` reads them without loading sensors, keys or ONNX Runtime.
import { parseDeviceBundle, readJsonConfig, type DeviceBundle } from '../../hardware/bundle/index.js'
import type { KeyStoreConfig } from '../../hardware/keys/key-store-config.js'
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

function resolveKeyStore(keyStore: KeyStoreConfig, at: (p: string) => string): KeyStoreConfig {
  const secret = <S extends { env: string } | { file: string }>(s: S): S => ('file' in s ? { ...s, file: at(s.file) } : s)
  if (keyStore.kind === 'file') return { ...keyStore, directory: at(keyStore.directory), password: secret(keyStore.password) }
  // A module named without a directory is left to the dynamic loader's search path.
  return { ...keyStore, module: keyStore.module.includes('/') ? at(keyStore.module) : keyStore.module, pin: secret(keyStore.pin) }
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
  const bundle: DeviceBundle = { ...parsed, keyStore: resolveKeyStore(parsed.keyStore, at), transportKeyDir: at(parsed.transportKeyDir) }
  const dataDir = at(config.dataDir)
  return { file: absolute, baseDir, bundle, config: { ...config, dataDir }, statusFile: resolve(dataDir, STATUS_FILE) }
}

export async function readAgentBundle(file: string): Promise<AgentBundle> {
  return readJsonConfig(file, parseAgentBundle)
}
