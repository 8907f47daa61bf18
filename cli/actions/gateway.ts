// `cw gateway start|status|round start`: the gateway daemon and its local control. `start` runs
// until SIGTERM or SIGINT and logs JSON lines (pino) on stdout; the other commands find the running
// daemon through `<dataDir>/api.json` and call its loopback HTTP API.
// This is the implementation, loaded when the command runs; cli/commands/gateway.ts defines its options.
import { pino, type Level } from 'pino'
import { GatewayNotRunningError } from '../../gateway/errors.js'
import { callGatewayApi, initGateway, readGatewayConfig, readOfflineGatewayStatus, startGatewayDaemon, type GatewayStatus, type OfflineGatewayStatus, type RoundSummary } from '../../gateway/daemon/index.js'
import { toJson } from '../output.js'
import { UsageError } from '../usage-error.js'
import { LEVELS } from '../commands/gateway.js'
import { openKeyStore } from '../../hardware/index.js'
import { readKeyStoreConfig } from '../../provisioning/index.js'
import { createLoginToken, DASHBOARD_PATH, MAX_LOGIN_TTL_SECONDS } from '../../gateway/dashboard/index.js'
import { readApiFile } from '../../gateway/daemon/index.js'
import { integer } from '../arguments.js'


export interface StartOptions {
  config: string
  logLevel: string
}

export interface InitOptions {
  config: string
  generateKey?: boolean
  host?: string
  json?: boolean
}

export interface ControlOptions {
  config: string
  json?: boolean
}

const percent = (v: number | null): string => (v === null ? '–' : `${(v * 100).toFixed(1)}%`)

function printStatus(s: GatewayStatus): void {
  console.log(`gateway  ${s.gateway}  fleet ${s.fleet}`)
  console.log(`peer     ${s.peerId}  ${s.multiaddrs.join(' ')}`)
  console.log(`state    ${s.state}${s.round === null ? '' : ` (round ${s.round})`}  peers ${s.mesh.peers}  subscribers ${s.mesh.subscribers}`)
  console.log(`model    ${s.model.hash}  accuracy ${percent(s.model.accuracy)}`)
  const rejected = Object.entries(s.updates.rejected).map(([reason, n]) => `${reason} ${n}`)
  console.log(`updates  ${s.updates.accepted} accepted${rejected.length === 0 ? '' : `, rejected: ${rejected.join(', ')}`}`)
  if (s.lastError !== null) console.log(`error    ${s.lastError} (retrying)`)
  printRounds(s.rounds)
}

function printRounds(rounds: readonly RoundSummary[]): void {
  for (const r of rounds)
    console.log(
      `round ${String(r.round).padStart(3)}  ${r.state.padEnd(11)} ${r.accepted}/${r.participants} updates  accuracy ${percent(r.accuracy).padStart(6)}  ${r.settlement ?? 'not settled'}${r.keptParent === true ? '  kept the parent' : ''}${r.settlementTx === null ? '' : `  tx ${r.settlementTx}`}`,
    )
}

function printOffline(s: OfflineGatewayStatus): void {
  console.log(`gateway  not running: the view from its data directory ${s.dataDir}`)
  if (s.peerId !== null) console.log(`peer     ${s.peerId}`)
  console.log(`state    ${s.state}${s.round === null ? '' : ` (round ${s.round}; a start resumes it)`}`)
  console.log(`model    ${s.model.hash}  accuracy ${percent(s.model.accuracy)}`)
  console.log(`genesis  ${s.genesis.model}  accuracy ${percent(s.genesis.accuracy)}`)
  printRounds(s.rounds)
}

export async function gatewayInitCommand(options: InitOptions): Promise<void> {
  const config = await readGatewayConfig(options.config)
  const result = await initGateway({ config, ...(options.generateKey === true ? { generateKey: true } : {}), ...(options.host === undefined ? {} : { host: options.host }) })
  if (options.json === true) {
    console.log(toJson(result))
    return
  }
  console.log(`gateway  ${result.address}${result.generatedKey ? ' (key generated)' : ''}: fund it, it pays for every settlement`)
  console.log(`peer     ${result.peerId}${result.createdTransportKey ? ' (transport key written)' : ''}`)
  for (const m of result.multiaddrs) console.log(`dial     ${m}`)
  for (const s of result.skipped) console.log(`skipped  ${s.listen}: ${s.reason}`)
  if (result.multiaddrs.length > 0) console.log(`for fleet.json: --gateway ${result.address}=${result.multiaddrs.join(',')}`)
}

export async function gatewayStartCommand(options: StartOptions): Promise<void> {
  if (!(LEVELS as readonly string[]).includes(options.logLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`)
  const config = await readGatewayConfig(options.config)
  const logger = pino({ level: options.logLevel as Level | 'silent', base: { pid: process.pid } })
  const stop = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  const daemon = await startGatewayDaemon(config, { logger })
  const signal = await stop
  logger.info({ signal }, 'signal received')
  await daemon.stop()
}

export async function gatewayStatusCommand(options: ControlOptions): Promise<void> {
  const config = await readGatewayConfig(options.config)
  let status: GatewayStatus
  try {
    status = (await callGatewayApi({ dataDir: config.dataDir, method: 'GET', path: '/status' })) as GatewayStatus
  } catch (err) {
    if (!(err instanceof GatewayNotRunningError)) throw err
    // No daemon answers: what its data directory holds (it refuses when no gateway ever ran there).
    const offline = await readOfflineGatewayStatus(config)
    if (options.json === true) console.log(toJson(offline))
    else printOffline(offline)
    return
  }
  if (options.json === true) console.log(toJson({ running: true, ...status }))
  else printStatus(status)
}

export async function gatewayRoundStartCommand(options: ControlOptions): Promise<void> {
  const config = await readGatewayConfig(options.config)
  const started = (await callGatewayApi({ dataDir: config.dataDir, method: 'POST', path: '/rounds' })) as { round: number; participants: number; deadline: number; baseModel: string }
  if (options.json === true) console.log(toJson(started))
  else console.log(`round ${started.round} started: ${started.participants} participants, deadline ${new Date(started.deadline * 1000).toISOString()}, base model ${started.baseModel}`)
}

export interface LoginOptions {
  config: string
  keyStore: string
  keyLabel: string
  ttl: string
  json?: boolean
}

/** Prints the dashboard URL with a signed sign-in token after `#` (never sent to a server log). */
export async function gatewayLoginCommand(options: LoginOptions): Promise<void> {
  const ttlSeconds = integer('--ttl', options.ttl, 1, MAX_LOGIN_TTL_SECONDS)
  const config = await readGatewayConfig(options.config)
  const status = (await callGatewayApi({ dataDir: config.dataDir, method: 'GET', path: '/status' })) as GatewayStatus
  const api = await readApiFile(config.dataDir)
  const store = await openKeyStore(await readKeyStoreConfig(options.keyStore))
  let token: string
  let operator: string
  try {
    const signer = await store.open(options.keyLabel)
    operator = signer.address
    token = await createLoginToken({ gateway: status.gateway, fleet: status.fleet, signer, ttlSeconds })
  } finally {
    await store.close()
  }
  const url = `${api.url}${DASHBOARD_PATH}/#login=${token}`
  const expires = Math.floor(Date.now() / 1000) + ttlSeconds
  if (options.json === true) console.log(toJson({ url, operator, expires }))
  else {
    console.log(`open this link in a browser within ${ttlSeconds} s (it signs in once, as ${operator}):`)
    console.log(url)
  }
}
