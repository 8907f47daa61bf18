// `cw agent start|status`: the edge agent daemon on a device. `start` runs until SIGTERM or
// SIGINT and logs JSON lines (pino) on stdout; `status` reads the summary the agent rewrites in
// `<dataDir>/status.json` (the data directory named by device.json's `agent` section).
import type { Command } from 'commander'
import { LOG_LEVELS } from '../../edge-agent/daemon/constants.js'
import type * as Actions from '../actions/agent.js'

// The implementation, and all it imports, loads when one of these commands runs.
const actions = (): Promise<typeof Actions> => import('../actions/agent.js')

export function registerAgent(program: Command): void {
  const agent = program.command('agent').description('the edge agent daemon: sensing, inference, local training and model updates')
  agent
    .command('start')
    .description('run the agent daemon until SIGTERM or SIGINT (JSON logs on stdout)')
    .requiredOption('--config <file>', 'device.json (the device bundle, with its agent section)')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')} (default: agent.logLevel in device.json)`)
    .option('--json', 'logs are JSON lines already; accepted for symmetry')
    .action(async (...args: Parameters<typeof Actions.agentStartCommand>) => (await actions()).agentStartCommand(...args))
  agent
    .command('status')
    .description("the agent's state, model, dataset, outbox, ε spent and left, and rounds, from <dataDir>/status.json")
    .requiredOption('--config <file>', 'device.json')
    .option('--json', 'print the status as JSON')
    .action(async (...args: Parameters<typeof Actions.agentStatusCommand>) => (await actions()).agentStatusCommand(...args))
}
