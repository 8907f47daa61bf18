// The `cw` program: its commands, and how an error becomes an exit code. cli/main.ts runs it;
// scripts/reference.ts reads it to write the CLI reference.
import { readFileSync } from 'node:fs'
import { inspect } from 'node:util'
import { Command, CommanderError } from 'commander'
import { BaseError, InvalidArgumentError } from '../protocols/errors.js'
import { registerAgent } from './commands/agent.js'
import { registerAudit } from './commands/audit.js'
import { registerChain } from './commands/chain.js'
import { registerConsole } from './commands/console.js'
import { registerDecode } from './commands/decode.js'
import { registerDevice } from './commands/device.js'
import { registerFleet } from './commands/fleet.js'
import { registerRewards } from './commands/rewards.js'
import { registerDemo } from './commands/demo.js'
import { registerGateway } from './commands/gateway.js'
import { registerKey } from './commands/key.js'
import { CliUsageError, IoError, UnexpectedError } from './errors.js'
import { EXIT, printError } from './output.js'
import { UsageError } from './usage-error.js'
import { packageFile } from './package-root.js'

const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }

export function buildProgram(): Command {
  const program = new Command('cw')
    .description('Counterweight: federated learning at the edge, settled on an EVM chain')
    .version(pkg.version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .option('--verbose', 'on a failure, print the whole error (causes, stack) after its one line')
    .showHelpAfterError()
    .exitOverride()
  registerDecode(program)
  registerAudit(program)
  registerChain(program)
  registerFleet(program)
  registerDevice(program)
  registerRewards(program)
  registerGateway(program)
  registerDemo(program)
  registerAgent(program)
  registerConsole(program)
  registerKey(program)
  const override = (command: Command): void => {
    command.exitOverride()
    for (const sub of command.commands) override(sub)
  }
  override(program)
  return program
}

const isSystemError = (err: unknown): boolean =>
  err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string'

export async function main(argv: readonly string[]): Promise<number> {
  process.exitCode = undefined
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  } catch (err) {
    // Commander has printed its own message; --help and --version end here with code 0.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage
    const typed = await typeError(err)
    printError(typed)
    if (argv.includes('--verbose')) console.error(inspect(err, { depth: 10 }))
    if (err instanceof UsageError || err instanceof InvalidArgumentError) return EXIT.usage
    if (isSystemError(err)) return EXIT.io
    if (typed instanceof UnexpectedError) return EXIT.unexpected
    return EXIT.rejected
  }
}

// One `error CODE: message` line for every failure: chain errors (viem's) become `CW_CHAIN_*`; the
// chain module is loaded only when an error needs it.
async function typeError(err: unknown): Promise<BaseError> {
  if (err instanceof BaseError) return err
  if (err instanceof UsageError) return new CliUsageError(err.message, { cause: err })
  if (isSystemError(err)) return new IoError((err as Error).message, { cause: err, details: { code: (err as NodeJS.ErrnoException).code } })
  const { toChainError } = await import('../hardware/chain/to-chain-error.js')
  return toChainError(err) ?? new UnexpectedError(err instanceof Error ? err.message : String(err), { cause: err })
}
