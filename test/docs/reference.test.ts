// The configuration and CLI references in docs/ are generated (npm run docs): this fails when a
// schema or a command changed and the committed pages were not regenerated, and checks that the
// pages hold what a reader looks for in them.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { buildProgram } from '../../cli/program.js'
import { parseGatewayConfig } from '../../gateway/daemon/index.js'
import { cliReference, configurationReference, jsonSchemas, undescribedFields } from '../../scripts/reference.js'

const doc = (name: string): Promise<string> => readFile(fileURLToPath(new URL(`../../docs/${name}`, import.meta.url)), 'utf8')

t.test('docs/configuration.md is what the schemas generate', async (t) => {
  const generated = configurationReference()
  t.equal(await doc('configuration.md'), generated, 'up to date (run `npm run docs`)')
  for (const field of ['`rounds.config.quorum`', '`rounds.schedule{mode=interval}.intervalSeconds`', '`training.epochs`', '`caps.outboxBytes`', '`keyStore{kind=pkcs11}.pin`', '`contracts.registry`'])
    t.ok(generated.includes(field), `lists ${field}`)
  t.match(generated, /`rounds\.evaluationMargin` \| number \| default `0\.02`/, 'with its type and default')
  t.match(generated, /`contracts\.registry` \| string \| required \| an Ethereum address/, 'addresses are strings, described')
  t.match(generated, /`keyStore\{kind=file\}\.password\.env` \| string \| one of `env`, `file`/, 'a password comes from one source, not both')
  t.match(generated, /`rounds\.config\.minUpdates` \| integer \| default `1` \| fewest accepted updates/, 'minUpdates, with its meaning')
  t.match(generated, /`rounds\.config\.quorum` \| integer \| optional \| accepted updates after which/, 'quorum, with its meaning')
  for (const driver of ['replay', 'synthetic', 'serial-line', 'firmata']) t.ok(generated.includes(`## Sensor \`${driver}\``), `the ${driver} sensor's fields`)
  t.match(generated, /`format\{kind=nmea\}\.requireChecksum` \| boolean \| default `true` \| drop/, "a sensor's fields are described")
})

t.test('every field of every configuration file has a description', async (t) => {
  t.same(undescribedFields(), [], 'no field whose meaning a reader must guess (add `.describe()` to its schema)')
})

t.test('docs/schemas/ holds the JSON Schema of every file, as generated', async (t) => {
  const schemas = jsonSchemas()
  t.ok(schemas.length >= 9)
  for (const s of schemas) {
    t.equal(await doc(`schemas/${s.name}`), s.text, `${s.name} up to date (run \`npm run docs\`)`)
    const parsed = JSON.parse(s.text) as { $schema?: string; type?: string }
    t.match(parsed.$schema, /json-schema\.org/, `${s.name} is a JSON Schema`)
  }
})

t.test('docs/cli.md is what the program generates', async (t) => {
  const program = buildProgram()
  const generated = cliReference(program)
  t.equal(await doc('cli.md'), generated, 'up to date (run `npm run docs`)')
  const leaves: string[] = []
  const walk = (c: typeof program, prefix: string): void => {
    const subs = c.commands.filter((s) => s.name() !== 'help')
    if (subs.length === 0 && prefix !== '') leaves.push(prefix)
    for (const s of subs) walk(s, `${prefix} ${s.name()}`.trim())
  }
  walk(program, '')
  t.ok(leaves.length >= 15, `${leaves.length} commands`)
  for (const command of leaves) t.ok(generated.includes(`### \`cw ${command}`), `documents cw ${command}`)
  t.ok(generated.includes('`--config <file>`'), 'with its options')
})

t.test("the README's gateway.json example is a valid configuration", async (t) => {
  const readme = await readFile(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8')
  const example = /a `gateway\.json`\s+such as\s*```json\n([\s\S]*?)```/.exec(readme)?.[1]
  t.ok(example, 'the example is there')
  const config = parseGatewayConfig(JSON.parse(example ?? '{}'), '/etc/counterweight/gateway.json')
  t.equal(config.rounds.config.strategy.name, 'clipped-trimmed-mean')
  t.equal(config.fleetFile, '/etc/counterweight/fleet.json', 'paths are taken from the file’s directory')
})
