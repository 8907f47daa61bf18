// `cw rewards claim`: claims every round a device has an unclaimed reward in, in one transaction.
// The proofs are rebuilt from the public round records (a directory of blobs named by sha256,
// found by the record hash each round's settlement holds) and checked against the chain's roots
// before anything is sent. The key that pays the gas comes from the device bundle's key store, or
// from a key-store configuration file; its password or PIN comes from the file or environment
// variable that configuration names, never from the command line.
import type { Command } from 'commander'
import type * as Actions from '../actions/rewards.js'

// The implementation, and all it imports, loads when one of these commands runs.
const actions = (): Promise<typeof Actions> => import('../actions/rewards.js')

export function registerRewards(program: Command): void {
  const rewards = program.command('rewards').description("a device's rewards on the fleet's chain")
  rewards
    .command('claim')
    .description("claim every settled round the device has an unclaimed reward in, in one transaction, with proofs rebuilt from the round records")
    .option('--config <device.json>', 'the device bundle: the device, its fleet and the key that pays the gas')
    .option('--device <address>', "the device to claim for (default: the bundle's); anyone may pay, the tokens go to the device")
    .option('--fleet <fleet.json>', "the fleet file (default: the bundle's fleet)")
    .requiredOption('--records <dir>', 'directory of published blobs named by sha256, holding the round records')
    .option('--key-store <file>', 'a key-store configuration (JSON) holding the key that pays the gas, instead of the bundle\'s')
    .option('--key-label <label>', "that key's label (default: the bundle's key)")
    .option('--rpc <url>', "JSON-RPC URL of the chain (default: the fleet file's chain.rpcUrl)")
    .option('--dry-run', 'collect and check the claims, send nothing')
    .option('--json', 'print the result as JSON')
    .action(async (...args: Parameters<typeof Actions.rewardsClaimCommand>) => (await actions()).rewardsClaimCommand(...args))
}
