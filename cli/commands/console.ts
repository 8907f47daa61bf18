// `cw console`: the technician's side of a device's serial console. `cw console --port …` logs in
// by answering the console's challenge with a key from any key store and then passes the terminal
// through, or runs one command (`cw console … -- status --json`) and exits with its status.
// `cw console grant` (fleet owner) signs a TechnicianGrant; `cw console code` answers a challenge
// read off a plain terminal (picocom, screen, minicom) with a line to paste there.
// The implementation loads in the action (console-run.ts), so `cw --help` stays fast.
import type { Command } from 'commander'
import { DEFAULT_CONSOLE_BAUD } from '../../edge-agent/console/constants.js'

export interface ConsoleOptions {
  port: string
  baud: string
  grant: string
  keyStore: string
  keyLabel: string
  timeout: string
}

export interface GrantOptions {
  fleet: string
  ownerKey: string
  ownerLabel: string
  technician: string
  devices: string
  commands: string
  validFrom?: string
  validFor: string
  out: string
}

export interface CodeOptions {
  grant?: string
  keyStore?: string
  keyLabel?: string
  challenge: string
  device: string
  json?: boolean
}

export function registerConsole(program: Command): void {
  const consoleCommand = program
    .command('console')
    .description("a device's serial console: log in with a technician grant, then an interactive session or one command (after --)")
    .option('--port <path>', 'the serial port the device console is on, e.g. /dev/ttyUSB0')
    .option('--baud <rate>', 'baud rate', String(DEFAULT_CONSOLE_BAUD))
    .option('--grant <file>', 'the TechnicianGrant from `cw console grant`')
    .option('--key-store <file>', 'key-store configuration (JSON) of the technician key (file or pkcs11)')
    .option('--key-label <label>', 'label of the technician key in that store')
    .option('--timeout <seconds>', 'how long to wait for each answer of the console', '20')
    .argument('[command...]', 'a console command to run instead of a session, e.g. -- status --json')
    .action(async (command: string[], options: ConsoleOptions) => {
      const { runConsole } = await import('./console-run.js')
      await runConsole(command, options)
    })
  consoleCommand
    .command('grant')
    .description('fleet owner: sign a TechnicianGrant for a technician key')
    .requiredOption('--fleet <fleet.json>', 'the fleet file (its EIP-712 domain and id)')
    .requiredOption('--owner-key <file>', 'key-store configuration (JSON) of the owner key')
    .requiredOption('--owner-label <label>', 'label of the owner key')
    .requiredOption('--technician <address>', "the technician key's address")
    .option('--devices <list>', "comma-separated device addresses, or '*' for every device of the fleet", '*')
    .option('--commands <list>', "command groups: read, config, maintain, or '*'", 'read')
    .option('--valid-from <unix>', 'start of validity, unix seconds (default: now)')
    .option('--valid-for <hours>', 'hours of validity', '8')
    .requiredOption('--out <file>', 'where to write the grant (JSON)')
    .action(async (options: GrantOptions) => {
      const { runGrant } = await import('./console-run.js')
      await runGrant(options)
    })
  consoleCommand
    .command('code')
    .description('answer a challenge shown on a plain terminal: prints the `answer …` line to paste, and its one-time code; takes --grant, --key-store and --key-label as `cw console` does')
    // --grant, --key-store and --key-label are the parent's options (cw console code --grant …).
    .requiredOption('--challenge <hex>', 'the challenge the console printed after `login`')
    .requiredOption('--device <address>', 'the device address the console printed')
    .option('--json', 'print the answer and code as JSON')
    .action(async (_options: unknown, command: Command) => {
      const { runCode } = await import('./console-run.js')
      await runCode(command.optsWithGlobals<CodeOptions>())
    })
}
