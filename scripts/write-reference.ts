// `npm run docs`: writes docs/configuration.md and docs/cli.md from the schemas and the program.
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { buildProgram } from '../cli/program.js'
import { cliReference, configurationReference, jsonSchemas } from './reference.js'

const at = (name: string): string => fileURLToPath(new URL(`../docs/${name}`, import.meta.url))
await writeFile(at('configuration.md'), configurationReference())
await writeFile(at('cli.md'), cliReference(buildProgram()))
await mkdir(at('schemas'), { recursive: true })
for (const schema of jsonSchemas()) await writeFile(at(`schemas/${schema.name}`), schema.text)
process.stdout.write('wrote docs/configuration.md, docs/cli.md and docs/schemas/\n')
