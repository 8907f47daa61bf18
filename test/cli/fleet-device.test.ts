// `cw fleet …` and `cw device …` as an operator runs them: real child processes through bin/cw.js
// against a `hardhat node` on 127.0.0.1, key-store passwords from an environment variable named
// in the key-store configuration (never in argv, never printed), --json output, progress on
// stderr, and the documented exit codes: 0 done, 1 refused, 2 usage, 4 a bulk run with refused rows.
import t from 'tap'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command } from 'commander'
import { registerDevice } from '../../cli/commands/device.js'
import { registerFleet } from '../../cli/commands/fleet.js'
import { ENV, fileStore, generateKey, PASSWORD_ENV, PROFILE, startChain, tempDir } from '../provisioning/helpers.js'
import { runCw, type Run } from '../helpers/run-cw.js'

// Each command is a child process through the bin; on a busy machine a start takes seconds.
t.setTimeout(600_000)
const dir = await tempDir(t, 'cli-fleet')
const chain = await startChain(t, 'node')

const cw = (...args: string[]): Promise<Run> => runCw(args, { cwd: dir, env: { ...process.env, ...ENV } })
const json = <T>(run: Run): T => JSON.parse(run.stdout) as T
const all: Run[] = []
const run = async (...args: string[]): Promise<Run> => {
  const r = await cw(...args)
  all.push(r)
  return r
}

const ownerConfig = join(dir, 'owner-key.json')
await writeFile(ownerConfig, JSON.stringify(fileStore('owner-keys')))
const ownerAddress = await generateKey(fileStore(join(dir, 'owner-keys')), 'owner')
await chain.fund(ownerAddress)
await writeFile(join(dir, 'profile.json'), JSON.stringify(PROFILE))
const gateway = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const GATEWAY_ADDR = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
const owner = ['--fleet', 'fleet.json', '--owner-key', ownerConfig]

t.test('every command has --help and --json', async (t) => {
  // In process: the same command definitions the bin registers, without a process start per command.
  let out = ''
  const program = new Command('cw').exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) })
  registerFleet(program)
  registerDevice(program)
  for (const command of [['fleet', 'init'], ['fleet', 'set-gateway'], ['fleet', 'show'], ['device', 'request'], ['device', 'enroll'], ['device', 'revoke'], ['device', 'rotate-key'], ['device', 'ls']]) {
    out = ''
    const err = await program.parseAsync([...command, '--help'], { from: 'user' }).then(() => undefined, (e: unknown) => e)
    t.match(err, { exitCode: 0, code: 'commander.helpDisplayed' }, `${command.join(' ')} --help`)
    t.match(out, /--json/, 'offers --json')
  }
  const bin = await cw('device', '--help')
  t.equal(bin.code, 0, 'cw device --help through the bin')
  t.match(bin.stdout, /rotate-key/)
})

t.test('fleet init, then fleet show', async (t) => {
  const initArgs = ['fleet', 'init', '--owner-key', ownerConfig, '--rpc-url', chain.rpcUrl ?? '', '--chain-id', '31337', '--name', 'orchard', '--json']
  const noPeer = await run(...initArgs, '--gateway', `${gateway}=/ip4/127.0.0.1/tcp/4001`)
  t.equal(noPeer.code, 1, 'a gateway multiaddr without /p2p/ is refused')
  t.match(noPeer.stderr, /^error CW_PROVISION_FLEET_SETUP: .*gateways\.0\.multiaddrs\.0.*no \/p2p\/<peer id>.*append the gateway's peer id/m)
  t.equal(noPeer.stderr.trim().split('\n').length, 1, 'one line')
  t.notOk(existsSync(join(dir, 'fleet.json')), 'nothing written')
  const init = await run(...initArgs, '--gateway', `${gateway}=${GATEWAY_ADDR}`)
  t.equal(init.code, 0, init.stderr)
  const created = json<{ fleet: { owner: string; gateways: { address: string; multiaddrs: string[] }[] }; authorised: string[] }>(init)
  t.equal(created.fleet.owner, ownerAddress)
  t.same(created.authorised, [gateway])
  t.match(init.stderr, /deploy\s+3\/3/, 'progress on stderr')
  const show = await run('fleet', 'show', '--json')
  t.equal(show.code, 0, show.stderr)
  t.match(json(show), { chain: { owner: ownerAddress, gateways: [{ address: gateway, authorised: true }], devices: { registered: 0, revoked: 0 } } })
})

const devices: string[] = []
t.test('device request on the device side, device enroll on the owner side', async (t) => {
  for (let i = 0; i < 3; i++) {
    await writeFile(join(dir, `device-${i}-key.json`), JSON.stringify(fileStore(`device-${i}/keys`)))
    const r = await run('device', 'request', '--key-store', `device-${i}-key.json`, '--transport-dir', `device-${i}/transport`, '--serial', `SN-${i}`, '--hardware', 'profile.json', '--out', `request-${i}.json`, '--json')
    t.equal(r.code, 0, r.stderr)
    devices.push(json<{ device: string }>(r).device)
  }
  const enroll = await run('device', 'enroll', 'request-0.json', ...owner, '--out', 'device-0/device.json', '--json')
  t.equal(enroll.code, 0, enroll.stderr)
  t.match(json(enroll), { enrolled: [{ device: devices[0], serial: 'SN-0' }], transactions: [/^0x/] })
  t.match(enroll.stderr, /register\s+1\/1/, 'progress on stderr')
  const bundle = JSON.parse(await readFile(join(dir, 'device-0', 'device.json'), 'utf8')) as { device: string; bootstrap: string[] }
  t.equal(bundle.device, devices[0])
  t.same(bundle.bootstrap, [GATEWAY_ADDR], "the fleet's gateway multiaddrs by default")
  const paths = bundle as unknown as { transportKeyDir: string; keyStore: { directory: string; password: unknown } }
  t.equal(paths.transportKeyDir, 'transport', 'a path inside the bundle directory is written relative to it')
  t.equal(paths.keyStore.directory, 'keys', 'the key store too')

  const request = JSON.parse(await readFile(join(dir, 'request-1.json'), 'utf8')) as Record<string, unknown>
  await writeFile(join(dir, 'tampered.json'), JSON.stringify({ ...request, serial: 'SN-X' }))
  const tampered = await run('device', 'enroll', 'tampered.json', ...owner)
  t.equal(tampered.code, 1, 'a tampered request: exit 1')
  t.match(tampered.stderr, /^error CW_ENROL_SIGNATURE: /m)

  await writeFile(join(dir, 'bulk.csv'), 'request,bundle\nrequest-1.json,bulk/1.json\n"broken,bulk/x.json\nrequest-2.json,bulk/2.json\n')
  const bulk = await run('device', 'enroll', '--csv', 'bulk.csv', ...owner, '--json')
  t.equal(bulk.code, 4, 'some rows refused: exit 4')
  t.match(json(bulk), { rows: 3, enrolled: [{ device: devices[1] }, { device: devices[2] }], rejected: [{ line: 3, code: 'CW_ENROL_CSV_ROW' }] })

  const usage = await run('device', 'enroll', ...owner)
  t.equal(usage.code, 2, 'neither requests nor --csv: exit 2')
})

t.test('fleet set-gateway: new multiaddrs for a gateway, a new gateway authorised by the owner', async (t) => {
  const moved = '/ip4/127.0.0.1/tcp/4002/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
  const noPeer = await run('fleet', 'set-gateway', gateway, '--multiaddr', '/ip4/127.0.0.1/tcp/4002', '--fleet', 'fleet.json')
  t.equal(noPeer.code, 1)
  t.match(noPeer.stderr, /^error CW_PROVISION_FLEET_SETUP: .*multiaddrs\.0.*no \/p2p\/<peer id>.*cw gateway init/m)
  const set = await run('fleet', 'set-gateway', gateway, '--multiaddr', moved, '--fleet', 'fleet.json', '--bundle', 'device-0/device.json', '--json')
  t.equal(set.code, 0, set.stderr)
  t.match(json(set), { gateway: { address: gateway, multiaddrs: [moved] }, added: false, authorised: false, bundles: ['device-0/device.json'] })
  const fleet = JSON.parse(await readFile(join(dir, 'fleet.json'), 'utf8')) as { gateways: { address: string; multiaddrs: string[] }[] }
  t.same(fleet.gateways, [{ address: gateway, multiaddrs: [moved] }], 'fleet.json has the new address')
  const bundle = JSON.parse(await readFile(join(dir, 'device-0', 'device.json'), 'utf8')) as { fleet: typeof fleet; bootstrap: string[] }
  t.same(bundle.fleet.gateways, fleet.gateways, "the bundle's fleet file too")
  t.same(bundle.bootstrap, [], 'and the old multiaddr is gone from its bootstrap list')

  const second = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
  const unauthorised = await run('fleet', 'set-gateway', second, '--multiaddr', moved, '--fleet', 'fleet.json')
  t.equal(unauthorised.code, 1, 'a gateway the registry does not know needs the owner key')
  t.match(unauthorised.stderr, /^error CW_PROVISION_FLEET_SETUP: .*not authorised by the registry.*--owner-key/m)
  const added = await run('fleet', 'set-gateway', second, '--multiaddr', moved, ...owner, '--json')
  t.equal(added.code, 0, added.stderr)
  t.match(json(added), { added: true, authorised: true })
  const show = await run('fleet', 'show', '--json')
  t.match(json(show), { chain: { gateways: [{ address: gateway, authorised: true }, { address: second, authorised: true }] } })
})

t.test('device revoke, device rotate-key, device ls', async (t) => {
  const revoke = await run('device', 'revoke', devices[1] ?? '', ...owner, '--json')
  t.equal(revoke.code, 0, revoke.stderr)
  t.match(json(revoke), { revoked: [devices[1]] })

  const request = await run('device', 'rotate-key', '--bundle', 'device-0/device.json', '--new-label', 'device-2', '--out', 'rotation.json', '--json')
  t.equal(request.code, 0, request.stderr)
  const rotate = await run('device', 'rotate-key', 'rotation.json', ...owner, '--json')
  t.equal(rotate.code, 0, rotate.stderr)
  const rotated = json<{ device: { device: string; bundle: string }; previous: string; changed: boolean }>(rotate)
  t.equal(rotated.previous, devices[0])
  t.equal(rotated.changed, true)
  t.equal(rotated.device.bundle, join(dir, 'device-0', 'device.json'), 'the new bundle replaces the old')

  const ls = await run('device', 'ls', '--fleet', 'fleet.json', '--json')
  t.equal(ls.code, 0, ls.stderr)
  const statuses = Object.fromEntries(json<{ device: string; status: string }[]>(ls).map((d) => [d.device, d.status]))
  t.same(statuses, { [devices[0] ?? '']: 'revoked', [devices[1] ?? '']: 'revoked', [devices[2] ?? '']: 'active', [rotated.device.device]: 'active' })
})

t.test('the key password never appears in any output', async (t) => {
  const secret = ENV[PASSWORD_ENV]
  t.ok(all.length >= 10)
  t.ok(all.every((r) => !r.stdout.includes(secret) && !r.stderr.includes(secret)))
})
