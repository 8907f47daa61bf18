// `cw fleet init`, `cw fleet set-gateway` and `cw fleet show`: creating a fleet (owner key,
// contracts, gateways, fleet.json), changing a gateway's multiaddrs, and showing a fleet with what
// the chain says about it. Passwords and PINs are never
// arguments: the key-store configuration file names the file or environment variable holding them.
import type { Command } from 'commander'
import type * as Actions from '../actions/fleet.js'

// The implementation, and all it imports, loads when one of these commands runs.
const actions = (): Promise<typeof Actions> => import('../actions/fleet.js')

export function registerFleet(program: Command): void {
  const fleet = program.command('fleet').description("create a fleet and show one (the owner's side)")
  fleet
    .command('init')
    .description('create a fleet: owner key, contracts deployed (or attached), gateways authorised, fleet.json written')
    .requiredOption('--owner-key <file>', 'key-store configuration (JSON) of the owner key; its password or PIN comes from the file or variable it names')
    .option('--owner-label <label>', 'label of the owner key in its store', 'owner')
    .option('--generate-owner', 'generate the owner key when the store has none under the label')
    .requiredOption('--rpc-url <url>', 'JSON-RPC URL of the chain')
    .requiredOption('--chain-id <id>', 'chain id (checked against the node)')
    .option('--confirmations <n>', 'blocks to wait for on top of each transaction')
    .option('--out <file>', 'where to write fleet.json (never overwritten)', 'fleet.json')
    .option('--name <name>', 'fleet name')
    .option('--gateway <spec...>', 'a gateway to authorise: ADDRESS or ADDRESS=MULTIADDR[,MULTIADDR…]', [])
    .option('--attach <contracts>', 'attach to deployed contracts instead of deploying: REGISTRY,LEDGER,REWARDS')
    .option('--deployed-at <block>', "with --attach: the registry's deployment block")
    .option('--fleet-id <bytes32>', 'the fleet id (random when absent)')
    .option('--no-progress', 'no progress lines on stderr')
    .option('--json', 'print the result as JSON')
    .action(async (...args: Parameters<typeof Actions.fleetInitCommand>) => (await actions()).fleetInitCommand(...args))

  fleet
    .command('set-gateway')
    .description("set a gateway's multiaddrs in fleet.json (adding the gateway, and authorising it on chain with --owner-key, when it is new) and in the device bundles named")
    .argument('<address>', "the gateway's address")
    .requiredOption('--multiaddr <multiaddr...>', 'where agents dial it, each ending in /p2p/<peer id> (cw gateway init prints them); they replace the old ones')
    .option('--fleet <file>', 'the fleet file, rewritten in place', 'fleet.json')
    .option('--owner-key <file>', 'key-store configuration of the owner key: needed when the registry does not authorise the gateway yet')
    .option('--owner-label <label>', 'label of the owner key in its store', 'owner')
    .option('--bundle <file...>', 'device bundles (device.json) to rewrite with the new fleet file', [])
    .option('--json', 'print the result as JSON')
    .action(async (...args: Parameters<typeof Actions.fleetSetGatewayCommand>) => (await actions()).fleetSetGatewayCommand(...args))

  fleet
    .command('show')
    .description('show a fleet file and, unless --offline, what its chain says: owner, gateways, devices')
    .option('--fleet <file>', 'the fleet file', 'fleet.json')
    .option('--offline', 'the file only; do not ask the chain')
    .option('--json', 'print as JSON')
    .action(async (...args: Parameters<typeof Actions.fleetShowCommand>) => (await actions()).fleetShowCommand(...args))
}
