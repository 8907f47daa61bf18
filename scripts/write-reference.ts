// `npm run docs`: writes docs/configuration.md and docs/cli.md from the schemas and the program.
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { buildProgram } from '../cli/program.js'
import { cliReference, configurationReference } from './reference.js'

const at = (name: string): string => fileURLToPath(new URL(`../docs/${name}`, import.meta.url))
await writeFile(at('configuration.md'), configurationReference())
await writeFile(at('cli.md'), cliReference(buildProgram()))
process.stdout.write('wrote docs/configuration.md and docs/cli.md\n')
