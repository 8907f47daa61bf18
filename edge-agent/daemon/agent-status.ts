// Reading what a running (or stopped) agent wrote to `<dataDir>/status.json`, for
// `cw agent status` and for supervisors. The file is rewritten atomically, so a reader sees a
// whole one; whether the agent still runs is told from its pid and the file's age.
import { readFile } from 'node:fs/promises'
import { ConfigError } from '../../protocols/errors.js'
import { AgentStatusMissingError } from '../errors.js'
import type { AgentStatus } from './agent-daemon.js'

/** A status file older than this many status intervals means the agent is not running. */
export const STALE_STATUS_INTERVALS = 5

export interface ReadAgentStatusReturnType {
  status: AgentStatus
  /** Its process exists and the file is fresh, and it was not stopped. */
  running: boolean
  /** Milliseconds since the agent last wrote it. */
  ageMs: number
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function readAgentStatus(file: string, statusIntervalMs: number): Promise<ReadAgentStatusReturnType> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AgentStatusMissingError(file, { cause: err })
    throw err
  }
  let status: AgentStatus
  try {
    status = JSON.parse(text) as AgentStatus
  } catch (err) {
    throw new ConfigError(file, '', 'is not JSON', { cause: err })
  }
  if (typeof status !== 'object' || status === null || status.version !== 1 || typeof status.updatedAt !== 'number' || typeof status.pid !== 'number')
    throw new ConfigError(file, 'version', 'is not an agent status file')
  const ageMs = Math.max(0, Date.now() - status.updatedAt)
  const running = status.state !== 'stopped' && alive(status.pid) && ageMs < STALE_STATUS_INTERVALS * statusIntervalMs
  return { status, running, ageMs }
}
