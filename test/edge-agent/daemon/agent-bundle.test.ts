// device.json for the daemon: the bundle and its agent section are validated before anything
// opens; errors are ConfigErrors naming the file and the field; relative paths start at the
// directory of device.json.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parseAgentBundle, readAgentBundle, readAgentStatus } from '../../../edge-agent/daemon/index.js'
import { makeDevice, startTestChain } from './agent-fixture.js'

const dir = await mkdtemp(join(tmpdir(), 'cw-agent-bundle-'))
const chain = await startTestChain()
const device = await makeDevice({ chain, dir: join(dir, 'device'), bootstrap: [] })
const raw = JSON.parse(await readFile(device.file, 'utf8')) as Record<string, unknown> & { agent: Record<string, unknown>; fleet: Record<string, unknown> }
t.teardown(async () => {
  await chain.close()
  await rm(dir, { recursive: true, force: true })
})

t.test('paths are taken from the directory of device.json; defaults fill the agent section', async (t) => {
  const agent = await readAgentBundle(device.file)
  t.equal(agent.config.dataDir, join(device.dir, 'agent-data'))
  t.equal(agent.statusFile, join(device.dir, 'agent-data', 'status.json'))
  t.equal(agent.bundle.transportKeyDir, join(device.dir, 'transport'))
  t.match(agent.bundle.keyStore, { kind: 'file', directory: join(device.dir, 'keys'), password: { file: join(device.dir, 'password') } })
  t.equal(agent.config.training.epochs, 1)
  t.equal(agent.config.rollbackMargin, 0.05)
  const bare = parseAgentBundle({ ...raw, agent: undefined }, device.file)
  t.equal(bare.config.dataDir, join(device.dir, 'agent-data'), 'no agent section: every default')
})

t.test('a bad agent section or bundle is a ConfigError naming the field', async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ['agent.training.epochs', { ...raw, agent: { training: { epochs: 0 } } }, /agent\.training\.epochs/],
    ['agent.caps.outboxBytes', { ...raw, agent: { caps: { outboxBytes: 'lots' } } }, /agent\.caps\.outboxBytes/],
    ['agent.rollbackMargin', { ...raw, agent: { rollbackMargin: 2 } }, /agent\.rollbackMargin/],
    ['agent.unknown', { ...raw, agent: { surprise: true } }, /agent/],
    ['fleet.chain.rpcUrl', { ...raw, fleet: { ...raw.fleet, chain: { chainId: chain.chainId, confirmations: 1 } } }, /fleet\.chain\.rpcUrl/],
    ['certificate', { ...raw, certificate: '0x1234' }, /certificate/],
  ]
  for (const [field, value, message] of cases) t.throws(() => parseAgentBundle(value, 'device.json'), { code: 'CW_CONFIG', message }, field)
  const bad = join(dir, 'not-json.json')
  await writeFile(bad, '{ nope')
  await t.rejects(readAgentBundle(bad), { code: 'CW_CONFIG' })
  await t.rejects(readAgentBundle(join(dir, 'absent.json')), { code: 'CW_CONFIG', message: /does not exist/ })
})

t.test('the status of an agent that never ran is a typed error', async (t) => {
  await t.rejects(readAgentStatus(device.statusFile, 250), { code: 'CW_AGENT_NO_STATUS' })
})
