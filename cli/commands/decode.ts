// `cw decode <type> [file]`: decodes one wire message strictly and prints it as JSON, optionally
// checking its signature against a fleet's EIP-712 domain.
import type { Command } from 'commander'
import { MESSAGE_KINDS } from '../../protocols/eip712/types.js'
import type * as Actions from '../actions/decode.js'

// Commands and cli/ import UsageError from here too.
export { UsageError } from '../usage-error.js'

export const DECODE_TYPES = [...MESSAGE_KINDS, 'UpdateSubmission', 'ModelUpdate'] as const

// The implementation, and all it imports, loads when one of these commands runs.
const actions = (): Promise<typeof Actions> => import('../actions/decode.js')

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description('decode one wire message strictly and print it as JSON; with --chain-id and --registry, check its signature too')
    .argument('<type>', `message type: ${DECODE_TYPES.join(', ')}`)
    .argument('[file]', 'file holding the encoded message (default: standard input)')
    .option('--hex', 'the input is hex text rather than raw bytes')
    .option('--chain-id <id>', "chain id of the fleet's EIP-712 domain")
    .option('--registry <address>', "fleet registry address (the domain's verifyingContract)")
    .option('--owner <address>', 'fleet owner address, to check a DeviceCertificate')
    .action(async (...args: Parameters<typeof Actions.decodeCommand>) => (await actions()).decodeCommand(...args))
}
