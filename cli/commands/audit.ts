// `cw audit round <n> --blobs <dir> [--record <file|hash>] [--fleet <fleet.json>]`: audits a round
// from its record and the blobs it references (parent model, updates, optimiser state), each kept
// in <dir> as a file named by its sha256 (0x-prefixed hex, optionally with a .bin extension).
// With --fleet it audits against the chain too: the record is the one whose hash the round's
// settlement holds (unless --record names one), and the recomputed contributions root and new
// model, the parent model, reward total, fleet and record hash are compared with the settlement,
// and the participant selection is recomputed from the registry at the announced block.
import type { Command } from 'commander'
import type * as Actions from '../actions/audit.js'

// The implementation, and all it imports, loads when one of these commands runs.
const actions = (): Promise<typeof Actions> => import('../actions/audit.js')

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('audit from public data')
  audit
    .command('round')
    .description('re-verify every signature of a round and recompute its aggregate, scores and Merkle root from its record; with --fleet, compare them with its settlement on chain and recompute its participant selection')
    .argument('<n>', 'the round number')
    .option('--record <file|hash>', 'the round record: a file, or its sha256 to look up in --blobs (default with --fleet: the record hash settled on chain)')
    .requiredOption('--blobs <dir>', 'directory of blobs named by sha256: parent model, updates, optimiser state, records')
    .option('--fleet <fleet.json>', "the fleet file: audit against its chain's settlement of the round")
    .option('--rpc <url>', "JSON-RPC URL of the chain (default: the fleet file's chain.rpcUrl)")
    .option('--json', 'print the report as JSON')
    .action(async (...args: Parameters<typeof Actions.auditRoundCommand>) => (await actions()).auditRoundCommand(...args))
}
