// `cw chain serve`: the embedded EVM as a JSON-RPC endpoint on 127.0.0.1, for trying a fleet on
// one machine without installing a node. A real deployment points fleet.json at a real node.
import type { Command } from 'commander'
import type * as Actions from '../actions/chain.js'

// The implementation, and all it imports, loads when one of these commands runs.
const actions = (): Promise<typeof Actions> => import('../actions/chain.js')

export function registerChain(program: Command): void {
  const chain = program.command('chain').description('a local EVM chain for trying a fleet on one machine')
  chain
    .command('serve')
    .description('serve the embedded EVM as JSON-RPC over HTTP until interrupted')
    .option('--host <host>', 'address to listen on (keep it on loopback)', '127.0.0.1')
    .option('--port <port>', 'port to listen on; 0 picks a free one', '8545')
    .option('--chain-id <id>', 'chain id (31337 by default, or the state file\'s)')
    .option('--state-file <file>', 'keep the chain in this file across restarts')
    .option('--fund <address...>', 'accounts funded at genesis (new chains only)', [])
    .option('--json', 'print the endpoint as JSON')
    .action(async (...args: Parameters<typeof Actions.chainServeCommand>) => (await actions()).chainServeCommand(...args))
  chain
    .command('fund')
    .description('give an address ether for gas on a development chain (cw chain serve, hardhat node, anvil); a real chain is refused')
    .argument('<address>', 'the account to fund: the owner, a gateway, or a device that pays for its own claim')
    .option('--rpc-url <url>', 'the chain\'s JSON-RPC endpoint', 'http://127.0.0.1:8545')
    .option('--amount <ether>', 'ether to add to its balance', '10')
    .option('--json', 'print the result as JSON')
    .action(async (to: string, options: { rpcUrl: string; amount: string; json?: boolean }) => {
      const [{ fund }, { address }] = await Promise.all([import('./chain-fund-run.js'), import('../arguments.js')])
      await fund(address('<address>', to), options)
    })
}
