// `cw demo` (also `npm start`): a whole fleet at work on one machine, then its results.
import type { Command } from 'commander'
import type * as Actions from '../actions/demo.js'

// The implementation, and all it imports, loads when one of these commands runs.
const actions = (): Promise<typeof Actions> => import('../actions/demo.js')

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run a demo fleet on this machine: embedded chain, one gateway, N agents, K rounds, claims and audits')
    .option('--devices <n>', 'devices (agents) to enrol and start', '5')
    .option('--rounds <k>', 'rounds to run', '10')
    .option('--data-dir <dir>', 'keep everything here (default: a fresh temporary directory)')
    .option('--round-seconds <s>', 'a round\'s deadline; it closes earlier when every device has answered', '60')
    .option('--keep', 'leave the fleet running after the rounds until Ctrl-C')
    .option('--json', 'print the summary as JSON')
    .action(async (...args: Parameters<typeof Actions.demoCommand>) => (await actions()).demoCommand(...args))
}
