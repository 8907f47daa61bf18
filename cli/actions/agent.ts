// `cw agent start|status`: the edge agent daemon on a device. `start` runs until SIGTERM or
// SIGINT and logs JSON lines (pino) on stdout; `status` reads the summary the agent rewrites in
// `<dataDir>/status.json` (the data directory named by device.json's `agent` section).
// This is the implementation, loaded when the command runs; cli/commands/agent.ts defines its options.
import type { Level } from 'pino'
import { LOG_LEVELS } from '../../edge-agent/daemon/constants.js'
import { readAgentBundle } from '../../edge-agent/daemon/agent-bundle.js'
import { readAgentStatus } from '../../edge-agent/daemon/agent-status.js'
import { privacyText } from '../../edge-agent/daemon/privacy-budget.js'
import type { AgentStatus } from '../../edge-agent/daemon/agent-daemon.js'
import { toJson } from '../output.js'
import { UsageError } from '../usage-error.js'

export interface StartOptions {
  config: string
  logLevel?: string
}

export interface StatusOptions {
  config: string
  json?: boolean
}

const ago = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s ago` : `${Math.round(ms / 1000)} s ago`)

// Older status files have no `malformed`; a sensor with none shows nothing more.
const malformedText = (malformed: Record<string, number> | undefined): string => {
  const kinds = Object.entries(malformed ?? {})
  return kinds.length === 0 ? '' : `, malformed: ${kinds.map(([kind, n]) => `${kind} ${n}`).join(', ')}`
}

function printStatus(s: AgentStatus, running: boolean, ageMs: number): void {
  console.log(`agent    ${s.device}  fleet ${s.fleet}`)
  console.log(`state    ${s.state}${running ? '' : ' (not running)'}  pid ${s.pid}  updated ${ago(ageMs)}`)
  // A status.json written before revocation was reported has no such field.
  if (s.revoked !== undefined && s.revoked !== null) console.log(`revoked  since round ${s.revoked.round} (a gateway's signed receipt): no more training; inference goes on`)
  console.log(`peer     ${s.peerId}  peers ${s.mesh.peers}  ${s.mesh.gateways === 0 ? 'no gateway announcement seen yet' : `gateways ${s.mesh.gateways} (announcing, connected)`}`)
  console.log(`model    ${s.model ?? '–'}${s.modelRound === null ? '' : `  (settled in round ${s.modelRound})`}`)
  const classes = Object.entries(s.dataset.classes).map(([label, n]) => `${label}:${n}`)
  console.log(`dataset  ${s.dataset.samples} samples, ${s.dataset.bytes} of ${s.dataset.maxBytes} bytes${classes.length === 0 ? '' : `  ${classes.join(' ')}`}${s.dataset.unlabelled > 0 ? `  unlabelled ${s.dataset.unlabelled}` : ''}`)
  console.log(`infer    ${s.inference.runs} runs, ${s.inference.skipped} skipped, ${s.inference.attestations} attestations${s.inference.last === null ? '' : `  last: ${s.inference.last.class ?? s.inference.last.value}`}`)
  console.log(`outbox   ${s.outbox.pending} pending, ${s.outbox.dead} rejected, ${s.outbox.bytes} of ${s.outbox.maxBytes} bytes`)
  console.log(`privacy  ${privacyText(s.privacy as AgentStatus['privacy'] | undefined)}`)
  for (const sensor of s.sensors) console.log(`sensor   ${sensor.id} (${sensor.driver}) ${sensor.status}  ${sensor.windows} windows, ${sensor.dropped} dropped, ${sensor.errors} errors${malformedText(sensor.malformed)}`)
  for (const r of s.refused) console.log(`refused  ${r.model}  ${r.reason}${r.detail === undefined ? '' : ` (${r.detail})`}`)
  for (const r of s.rounds) console.log(`round ${r.round.padStart(3)}  ${r.status.padEnd(16)}${r.samples === undefined ? '' : ` ${r.samples} samples`}${r.reason === undefined ? '' : `  ${r.reason}`}`)
}

export async function agentStartCommand(options: StartOptions): Promise<void> {
  if (options.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(options.logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`)
  const bundle = await readAgentBundle(options.config)
  // pino loads for the daemon only; `cw agent status` does without it.
  const { pino } = await import('pino')
  const logger = pino({ level: (options.logLevel ?? bundle.config.logLevel) as Level | 'silent', base: { pid: process.pid } })
  const stop = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  // The daemon (libp2p, ONNX Runtime, level, sensors) loads here, not for `cw agent status`.
  const { startAgentDaemon } = await import('../../edge-agent/daemon/agent-daemon.js')
  const daemon = await startAgentDaemon(bundle, { logger })
  const signal = await stop
  logger.info({ signal }, 'signal received')
  await daemon.stop()
}

export async function agentStatusCommand(options: StatusOptions): Promise<void> {
  const bundle = await readAgentBundle(options.config)
  const { status, running, ageMs } = await readAgentStatus(bundle.statusFile, bundle.config.statusIntervalMs)
  if (options.json === true) console.log(toJson({ ...status, running, ageMs }))
  else printStatus(status, running, ageMs)
}
