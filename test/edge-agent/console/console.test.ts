// The technician console with real parts: an agent daemon (embedded EVM over HTTP, a libp2p
// gateway node on 127.0.0.1, LevelDB, ONNX Runtime, a replay sensor) serving its console on one
// end of a socat PTY pair; picocom on the other end under tmux, asserted on what the 80×24 screen
// shows; then `cw console` as a child process with a file key and a SoftHSM2 key, grants refused
// with their reason, binary noise and overlong lines, and the audit log.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { SerialPort } from 'serialport'
import { keccak256, toHex } from 'viem'
import { verifyTechnicianGrant, parseTechnicianGrant } from '../../../protocols/index.js'
import { signTechnicianGrant, type TechnicianGrant } from '../../../protocols/eip712/technician.js'
import { openKeyStore, openFileKeyStore } from '../../../hardware/index.js'
import { settleGenesis } from '../../../gateway/daemon/index.js'
import { MemorySettlementJournal, signerToAccount } from '../../../gateway/settlement/index.js'
import { readAgentBundle, startAgentDaemon } from '../../../edge-agent/daemon/index.js'
import { AUDIT_FILE } from '../../../edge-agent/console/index.js'
import type { AuditEntry } from '../../../edge-agent/console/audit-log.js'
import { fleetFileOf, logger, makeDevice, startTestChain, testGatewayNode, testModel, TEST_SCRYPT, until } from '../daemon/agent-fixture.js'
import { createSoftHsm } from '../../hardware/keys/softhsm.js'
import { ptyPair, tmuxRunning } from './terminal.js'
import { runCw, type Run } from '../../helpers/run-cw.js'

t.setTimeout(600_000)
const dir = await mkdtemp(join(tmpdir(), 'cw-console-'))
const hsm = await createSoftHsm(t)
const chain = await startTestChain()
const genesis = testModel(1)
await settleGenesis(chain.connection, { gateway: signerToAccount({ signer: chain.gateway }), ledger: chain.contracts.ledger, fleet: chain.fleet, model: genesis.hash, journal: new MemorySettlementJournal() })
const { gateway } = await testGatewayNode(chain, [genesis], logger)
await gateway.start()
const pty = await ptyPair(dir, 'uart')
const device = await makeDevice({ chain, dir: join(dir, 'device'), bootstrap: [String(gateway.multiaddrs[0])], speed: 0.5, loop: true, agent: { console: { path: pty.device, baudRate: 115200 } } })
const agent = await startAgentDaemon(await readAgentBundle(device.file), { logger })
const domain = fleetFileOf(chain).domain
const tmuxSocket = `cw-console-${process.pid}`
let closeTmux = async (): Promise<void> => undefined

t.teardown(async () => {
  await closeTmux()
  await agent.stop()
  await pty.close()
  await gateway.stop()
  await chain.close()
  await rm(dir, { recursive: true, force: true })
})

// --- the technician's keys: a file key and a SoftHSM2 key ---------------------------------------
await writeFile(join(dir, 'tech-password'), 'technician password\n', { mode: 0o600 })
await writeFile(join(dir, 'tech-file.json'), JSON.stringify({ kind: 'file', directory: 'tech-keys', password: { file: 'tech-password' }, scrypt: TEST_SCRYPT }))
const fileStore = await openFileKeyStore({ kind: 'file', directory: join(dir, 'tech-keys'), password: { file: join(dir, 'tech-password') }, scrypt: TEST_SCRYPT })
const fileKey = await fileStore.generate('tech')
await fileStore.close()

await hsm.initToken('technician', '1234')
await writeFile(join(dir, 'tech-pin'), '1234\n', { mode: 0o600 })
await writeFile(join(dir, 'tech-hsm.json'), JSON.stringify({ kind: 'pkcs11', module: hsm.module, token: { label: 'technician' }, pin: { file: 'tech-pin' } }))
const hsmStore = await openKeyStore({ kind: 'pkcs11', module: hsm.module, token: { label: 'technician' }, pin: { file: join(dir, 'tech-pin') } })
const hsmKey = await hsmStore.generate('tech')
await hsmStore.close()

const now = BigInt(Math.floor(Date.now() / 1000))
const writeGrant = async (name: string, grant: Partial<TechnicianGrant> & Pick<TechnicianGrant, 'technician'>, owner = chain.owner): Promise<string> => {
  const full: TechnicianGrant = { fleet: chain.fleet, devices: [device.address], commands: ['*'], validFrom: now - 60n, validUntil: now + 3600n, ...grant }
  const signed = await signTechnicianGrant(domain, full, owner)
  const file = join(dir, `${name}.json`)
  await writeFile(file, JSON.stringify({ grant: { ...full, validFrom: full.validFrom.toString(), validUntil: full.validUntil.toString() }, signature: signed.signature, domain }))
  return file
}
const fileGrant = await writeGrant('grant-file', { technician: fileKey.address })
const hsmGrant = await writeGrant('grant-hsm', { technician: hsmKey.address, devices: ['*'], commands: ['read'] })
const expiredGrant = await writeGrant('grant-expired', { technician: fileKey.address, validFrom: now - 7200n, validUntil: now - 3600n })
const otherFleetGrant = await writeGrant('grant-other-fleet', { technician: fileKey.address, fleet: keccak256(toHex('another fleet')) })

// `cw console grant` signed by a key that is not the fleet's owner (the fleet file says it is).
const notOwnerStore = await openFileKeyStore({ kind: 'file', directory: join(dir, 'owner-keys'), password: { file: join(dir, 'tech-password') }, scrypt: TEST_SCRYPT })
const notOwner = await notOwnerStore.generate('owner')
await notOwnerStore.close()
await writeFile(join(dir, 'owner-file.json'), JSON.stringify({ kind: 'file', directory: 'owner-keys', password: { file: 'tech-password' }, scrypt: TEST_SCRYPT }))
await writeFile(join(dir, 'fleet-claimed.json'), JSON.stringify({ ...fleetFileOf(chain), owner: notOwner.address }))
const forgedGrant = join(dir, 'grant-forged.json')

const cw = (...args: string[]): Promise<Run> => runCw(args, { cwd: dir, env: { ...process.env, SOFTHSM2_CONF: hsm.config } })

t.test('picocom under tmux: prompt, refused before login, one-time login, status, sensors watch, Ctrl-C, config set refused', async (t) => {
  const tmux = await tmuxRunning(tmuxSocket, ['picocom', '-q', '-b', '115200', pty.technician])
  closeTmux = () => tmux.kill()
  t.teardown(() => tmux.kill()) // picocom holds the port's lock until it quits
  await tmux.sendKeys('Enter')
  await tmux.waitFor(/^cw>/m)

  await tmux.type('status')
  await tmux.sendKeys('Enter')
  await tmux.waitFor('error: login first')

  await tmux.type('login')
  await tmux.sendKeys('Enter')
  const screen = await tmux.waitFor(/device 0x[0-9a-fA-F]{40}/)
  const challenge = /^(0x[0-9a-f]{64})$/m.exec(screen)?.[1]
  t.ok(challenge, 'the challenge fits on one 80-column line')
  const code = await cw('console', 'code', '--grant', fileGrant, '--key-store', join(dir, 'tech-file.json'), '--key-label', 'tech', '--challenge', challenge ?? '', '--device', device.address, '--json')
  t.equal(code.code, 0, code.stderr)
  const answer = JSON.parse(code.stdout) as { answer: string; code: string }
  t.match(answer.code, /^[0-9A-F]{10}$/, 'a short one-time code')
  await tmux.type(answer.answer)
  await tmux.sendKeys('Enter')
  await tmux.waitFor(`logged in as ${fileKey.address}`)
  await tmux.waitFor(`one-time code ${answer.code}, used`)
  await tmux.waitFor(/^cw#/m)

  await tmux.type('status')
  await tmux.sendKeys('Enter')
  const status = await tmux.waitFor(/samples\s+\d+/)
  t.match(status, `device   ${device.address}`)
  t.match(status, /state\s+(running|waiting-for-model)/)
  for (const line of status.split('\n')) t.ok(line.length <= 80, 'no line wider than the terminal')

  await tmux.type('sensors watch clusters')
  await tmux.sendKeys('Enter')
  await tmux.waitFor('watching clusters; Ctrl-C to stop')
  await tmux.waitFor(/\d\d:\d\d:\d\d \S+ windows=\d+/)
  await tmux.sendKeys('C-c')
  await tmux.waitFor(/stopped\s*\n\s*cw#/)

  // Tab completes a command name, the up arrow brings the last line back.
  await tmux.type('aud')
  await tmux.sendKeys('Tab')
  await tmux.waitFor(/cw# audit\s*$/m)
  await tmux.sendKeys('C-u')
  await tmux.sendKeys('Up')
  await tmux.waitFor(/cw# sensors watch clusters$/m)
  await tmux.sendKeys('C-u')

  await tmux.type('config set windowSize -3')
  await tmux.sendKeys('Enter')
  await tmux.waitFor(/agent\.windowSize/)
  t.notMatch(await readFile(device.file, 'utf8'), /"windowSize": -3/, 'device.json is unchanged')

  await tmux.type('config set training.epochs 3')
  await tmux.sendKeys('Enter')
  await tmux.waitFor('restart needed')
  t.match(JSON.parse(await readFile(device.file, 'utf8')) as unknown, { agent: { training: { epochs: 3 } } })

  await tmux.type('exit')
  await tmux.sendKeys('Enter')
  await tmux.waitFor('logged out')
  await tmux.sendKeys('C-a', 'C-x') // picocom's quit
  await until(async () => !(await tmux.screen().then(() => true, () => false)), 10_000, 'picocom to quit')
  await tmux.kill()
})

t.test('noise, an overlong line and a disconnect mid-command do not disturb the agent', async (t) => {
  const windows = (): number => agent.status().sensors.reduce((n, s) => n + s.windows, 0)
  const before = windows()
  const stateBefore = agent.status().state
  const port = new SerialPort({ path: pty.technician, baudRate: 115200 })
  await new Promise((resolve) => port.once('open', resolve))
  let seen = ''
  port.on('data', (chunk: Buffer) => (seen += chunk.toString('latin1')))
  const noise = Buffer.alloc(4096)
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 131 + 7) & 0xff
  port.write(Buffer.concat([Buffer.from('\x03'), noise.filter((b) => b !== 0x0d && b !== 0x0a && b !== 0x03), Buffer.from('\x03')]))
  port.write(`${'x'.repeat(5000)}\r`)
  await until(() => seen.includes('error: line too long'), 20_000, 'the overlong line refused')
  port.write('frobnicate\r')
  await until(() => seen.includes('error: unknown command "frobnicate"'), 20_000, 'an unknown command refused')
  port.write('sensors wat')
  await new Promise<void>((resolve) => port.close(() => resolve()))
  await until(() => windows() > before, 30_000, 'sensing going on')
  t.equal(agent.status().state, stateBefore, 'the agent is in the state it was in')
})

t.test('cw console: one command with a file key and with a SoftHSM2 key', async (t) => {
  const one = await cw('console', '--port', pty.technician, '--grant', fileGrant, '--key-store', join(dir, 'tech-file.json'), '--key-label', 'tech', '--', 'status', '--json')
  t.equal(one.code, 0, one.stderr)
  t.match(JSON.parse(one.stdout) as unknown, { device: device.address, fleet: chain.fleet })

  const net = await cw('console', '--port', pty.technician, '--grant', fileGrant, '--key-store', join(dir, 'tech-file.json'), '--key-label', 'tech', '--', 'net', '--json')
  t.equal(net.code, 0, net.stderr)
  t.match(JSON.parse(net.stdout) as unknown, { peerId: agent.peerId, peers: Number })
  const selftest = await cw('console', '--port', pty.technician, '--grant', fileGrant, '--key-store', join(dir, 'tech-file.json'), '--key-label', 'tech', '--', 'selftest', '--json')
  const checks = JSON.parse(selftest.stdout) as { check: string; ok: boolean; detail: string }[]
  t.same(checks.map((c) => c.check), ['key', 'sensors', 'model', 'chain', 'mesh'])
  t.match(checks, [{ ok: true, detail: 'signs and verifies' }, { ok: true }, { ok: false, detail: 'no settled model loaded yet' }, { ok: true, detail: /^block \d+/ }, { ok: true }])
  t.equal(selftest.code, 0, 'with --json the checks are the answer')
  const badSensor = await cw('console', '--port', pty.technician, '--grant', fileGrant, '--key-store', join(dir, 'tech-file.json'), '--key-label', 'tech', '--', 'sensors', 'watch', 'nope')
  t.equal(badSensor.code, 1)
  t.match(badSensor.stdout, 'error: CW_CONSOLE_USAGE: sensors watch: no sensor "nope"')

  const hsmRun = await cw('console', '--port', pty.technician, '--grant', hsmGrant, '--key-store', join(dir, 'tech-hsm.json'), '--key-label', 'tech', '--', 'outbox', '--json')
  t.equal(hsmRun.code, 0, hsmRun.stderr)
  t.match(JSON.parse(hsmRun.stdout) as unknown, { pending: Number, dead: Number, deadLetters: [] })
  const retryDenied = await cw('console', '--port', pty.technician, '--grant', hsmGrant, '--key-store', join(dir, 'tech-hsm.json'), '--key-label', 'tech', '--', 'outbox', 'retry')
  t.equal(retryDenied.code, 1, 'a read-only grant cannot send the outbox')
  t.match(retryDenied.stdout, 'your grant does not allow maintain commands')
  const retry = await cw('console', '--port', pty.technician, '--grant', fileGrant, '--key-store', join(dir, 'tech-file.json'), '--key-label', 'tech', '--', 'outbox', 'retry')
  t.equal(retry.code, 0, retry.stderr)
  t.match(retry.stdout, /sending \d+ pending now/)

  const denied = await cw('console', '--port', pty.technician, '--grant', hsmGrant, '--key-store', join(dir, 'tech-hsm.json'), '--key-label', 'tech', '--', 'config', 'get', 'windowSize')
  t.equal(denied.code, 1, 'a read-only grant cannot use config')
  t.match(denied.stdout, 'your grant does not allow config commands')
})

t.test('cw console grant writes a signed grant; refused when the owner is wrong', async (t) => {
  const made = await cw('console', 'grant', '--fleet', join(dir, 'fleet-claimed.json'), '--owner-key', join(dir, 'owner-file.json'), '--owner-label', 'owner', '--technician', fileKey.address, '--devices', device.address, '--commands', 'read,config', '--out', forgedGrant)
  t.equal(made.code, 0, made.stderr)
  t.match(made.stdout, `grant for ${fileKey.address} written`)
  const written = JSON.parse(await readFile(forgedGrant, 'utf8')) as { grant: Record<string, string>; signature: `0x${string}` }
  const grant = parseTechnicianGrant({ ...written.grant, validFrom: BigInt(written.grant.validFrom ?? ''), validUntil: BigInt(written.grant.validUntil ?? '') })
  t.ok(verifyTechnicianGrant(domain, { grant, signature: written.signature }, notOwner.address), 'signed by the key the fleet file names')
  t.equal(grant.validUntil - grant.validFrom, 8n * 3600n, 'eight hours by default')
  const bad = await cw('console', 'grant', '--fleet', join(dir, 'fleet-claimed.json'), '--owner-key', join(dir, 'owner-file.json'), '--owner-label', 'owner', '--technician', 'nobody', '--out', join(dir, 'never.json'))
  t.equal(bad.code, 2)
  t.match(bad.stderr, '--technician')
})

t.test('cw console: expired, wrong-fleet and forged grants refused with their reason', async (t) => {
  const tryGrant = (grant: string) => cw('console', '--port', pty.technician, '--grant', grant, '--key-store', join(dir, 'tech-file.json'), '--key-label', 'tech', '--', 'status')
  const expired = await tryGrant(expiredGrant)
  t.equal(expired.code, 1)
  t.match(expired.stderr, 'login refused: grant expired at')
  const otherFleet = await tryGrant(otherFleetGrant)
  t.equal(otherFleet.code, 1)
  t.match(otherFleet.stderr, 'login refused: grant is for fleet')
  const forged = await tryGrant(forgedGrant)
  t.equal(forged.code, 1)
  t.match(forged.stderr, 'login refused: grant not signed by the fleet owner')
  // Three failures lock the console: the next try is refused even with a good grant.
  const locked = await tryGrant(fileGrant)
  t.equal(locked.code, 1)
  t.match(locked.stderr, /locked for \d+ s/)
})

t.test('the audit log holds every session event and command', async (t) => {
  const entries = (await readFile(join(device.dataDir, AUDIT_FILE), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditEntry)
  const has = (what: string | RegExp, result: string | RegExp, who: string | null = null) =>
    t.ok(entries.some((e) => (typeof what === 'string' ? e.what === what : what.test(e.what)) && (typeof result === 'string' ? e.result === result : result.test(e.result)) && (who === null || e.who === who)), `audit: ${String(what)} → ${String(result)}`)
  has('status', 'refused: not logged in')
  has('answer', 'logged in', fileKey.address)
  has('status', 'ok', fileKey.address)
  has('sensors watch clusters', 'ok', fileKey.address)
  has('config set windowSize -3', /^error: CW_CONFIG: .*agent\.windowSize/, fileKey.address)
  has('config set training.epochs 3', 'ok', fileKey.address)
  has('(overlong line)', 'refused')
  has('frobnicate', 'unknown')
  has('status --json', 'ok', fileKey.address)
  has('outbox --json', 'ok', hsmKey.address)
  has('config get windowSize', 'refused: grant lacks config', hsmKey.address)
  has('answer', /^refused: grant expired/)
  has('answer', /^refused: grant is for fleet/)
  has('answer', 'refused: grant not signed by the fleet owner')
  t.ok(entries.every((e) => typeof e.time === 'number' && e.time > 0), 'every entry has its time')
})
