// `cw key generate` and `cw key address`: a key in a key store (a file store or a PKCS#11 token
// such as SoftHSM2), and the Ethereum address to fund for its gas. The key never leaves the store.
import type { Command } from 'commander'

export interface KeyOptions {
  keyStore: string
  label: string
  json?: boolean
}

export function registerKey(program: Command): void {
  const key = program.command('key').description("keys in a key store: make one, print one's address")
  for (const [name, description] of [
    ['generate', 'generate a key under a new label and print its address (refused when the label is taken)'],
    ['address', "print the address of the key under a label (the account to fund for gas)"],
  ] as const) {
    key
      .command(name)
      .description(description)
      .requiredOption('--key-store <file>', 'the key-store configuration (JSON, as in docs/configuration.md)')
      .requiredOption('--label <label>', 'the key\'s label in the store')
      .option('--json', 'print the result as JSON')
      .action(async (options: KeyOptions) => {
        const { runKey } = await import('./key-run.js')
        await runKey(name, options)
      })
  }
}
