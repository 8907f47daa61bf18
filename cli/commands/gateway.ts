// `cw gateway init|start|status|round start`: the gateway daemon and its local control. `init`
// makes its keys before the first start, so its peer id is known for fleet.json; `start` runs
// until SIGTERM or SIGINT and logs JSON lines (pino) on stdout; the other commands find the running
// daemon through `<dataDir>/api.json` and call its loopback HTTP API (`status` reads the data
// directory instead when none runs).
import type { Command } from 'commander'
import type * as Actions from '../actions/gateway.js'

export const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

// The implementation, and all it imports, loads when one of these commands runs.
const actions = (): Promise<typeof Actions> => import('../actions/gateway.js')

export function registerGateway(program: Command): void {
  const gateway = program.command('gateway').description('the gateway daemon: rounds, verification, aggregation and settlement')
  gateway
    .command('init')
    .description("prepare a gateway before its first start: its libp2p transport key in dataDir (kept if there), its key (with --generate-key), and the peer id and multiaddrs for fleet.json")
    .requiredOption('--config <file>', 'gateway.json')
    .option('--generate-key', "generate the gateway key in its key store when there is none under keyLabel")
    .option('--host <host>', 'the host agents reach the gateway at, for listen addresses on 0.0.0.0 or :: (an IP address or a DNS name)')
    .option('--json', 'print the result as JSON')
    .action(async (...args: Parameters<typeof Actions.gatewayInitCommand>) => (await actions()).gatewayInitCommand(...args))
  gateway
    .command('start')
    .description('run the gateway daemon until SIGTERM or SIGINT (JSON logs on stdout)')
    .requiredOption('--config <file>', 'gateway.json')
    .option('--log-level <level>', `one of ${LEVELS.join(', ')}`, 'info')
    .action(async (...args: Parameters<typeof Actions.gatewayStartCommand>) => (await actions()).gatewayStartCommand(...args))
  gateway
    .command('status')
    .description("the running daemon's state, model, update counts and rounds; with no daemon running, the rounds and settlements its data directory holds")
    .requiredOption('--config <file>', 'gateway.json')
    .option('--json', 'print the status as JSON')
    .action(async (...args: Parameters<typeof Actions.gatewayStatusCommand>) => (await actions()).gatewayStatusCommand(...args))
  gateway
    .command('login')
    .description('sign a one-time dashboard sign-in link with an operator key (file or PKCS#11 key store) and print it')
    .requiredOption('--config <file>', 'gateway.json')
    .requiredOption('--key-store <file>', 'key-store configuration (JSON) holding the operator key')
    .requiredOption('--key-label <label>', "the operator key's label")
    .option('--ttl <seconds>', 'seconds the link is valid for (1..3600)', '300')
    .option('--json', 'print { url, operator, expires } as JSON')
    .action(async (...args: Parameters<typeof Actions.gatewayLoginCommand>) => (await actions()).gatewayLoginCommand(...args))
  const round = gateway.command('round').description('rounds of the running daemon')
  round
    .command('start')
    .description('start the next round now (refused while a round runs)')
    .requiredOption('--config <file>', 'gateway.json')
    .option('--json', 'print the new round as JSON')
    .action(async (...args: Parameters<typeof Actions.gatewayRoundStartCommand>) => (await actions()).gatewayRoundStartCommand(...args))
}
