// `cw gateway start|status|round start`: the gateway daemon and its local control. `start` runs
// until SIGTERM or SIGINT and logs JSON lines (pino) on stdout; the other commands find the running
// daemon through `<dataDir>/api.json` and call its loopback HTTP API.
import type { Command } from 'commander'
import { pino, type Level } from 'pino'
import { callGatewayApi, readGatewayConfig, startGatewayDaemon, type GatewayStatus } from '../../gateway/daemon/index.js'
import { toJson } from '../output.js'
import { UsageError } from './decode.js'

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

interface StartOptions {
  config: string
  logLevel: string
}

interface ControlOptions {
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
  for (const r of s.rounds)
    console.log(
      `round ${String(r.round).padStart(3)}  ${r.state.padEnd(11)} ${r.accepted}/${r.participants} updates  accuracy ${percent(r.accuracy).padStart(6)}  ${r.settlement ?? 'not settled'}${r.keptParent === true ? '  kept the parent' : ''}`,
    )
}

export function registerGateway(program: Command): void {
  const gateway = program.command('gateway').description('the gateway daemon: rounds, verification, aggregation and settlement')
  gateway
    .command('start')
    .description('run the gateway daemon until SIGTERM or SIGINT (JSON logs on stdout)')
    .requiredOption('--config <file>', 'gateway.json')
    .option('--log-level <level>', `one of ${LEVELS.join(', ')}`, 'info')
    .action(async (options: StartOptions) => {
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
    })
  gateway
    .command('status')
    .description("the running daemon's state, model, update counts and rounds")
    .requiredOption('--config <file>', 'gateway.json')
    .option('--json', 'print the status as JSON')
    .action(async (options: ControlOptions) => {
      const config = await readGatewayConfig(options.config)
      const status = (await callGatewayApi({ dataDir: config.dataDir, method: 'GET', path: '/status' })) as GatewayStatus
      if (options.json === true) console.log(toJson(status))
      else printStatus(status)
    })
  const round = gateway.command('round').description('rounds of the running daemon')
  round
    .command('start')
    .description('start the next round now (refused while a round runs)')
    .requiredOption('--config <file>', 'gateway.json')
    .option('--json', 'print the new round as JSON')
    .action(async (options: ControlOptions) => {
      const config = await readGatewayConfig(options.config)
      const started = (await callGatewayApi({ dataDir: config.dataDir, method: 'POST', path: '/rounds' })) as { round: number; participants: number; deadline: number; baseModel: string }
      if (options.json === true) console.log(toJson(started))
      else console.log(`round ${started.round} started: ${started.participants} participants, deadline ${new Date(started.deadline * 1000).toISOString()}, base model ${started.baseModel}`)
    })
}
