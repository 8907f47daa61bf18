// The dashboard in real Chromium (Debian's /usr/bin/chromium through playwright-core) against a
// real gateway daemon on 127.0.0.1 with the embedded EVM served over HTTP: an operator signs in
// with a link signed by a key the fleet file lists, sees the device table fill, starts a round
// from the page and sees it in the rounds table with the accuracy chart drawn; bad sign-ins
// (no session, a key that is not an operator, an expired link, a link used twice) and bad API
// requests (401, 400 naming the field, 413) are refused while the gateway keeps serving.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { chromium, type Browser } from 'playwright-core'
import { keccak256, stringToHex, type Address } from 'viem'
import { openKeyStore, writeFleetFile, writeJsonConfig, type FileKeyStoreConfig } from '../../../hardware/index.js'
import { connectChain, deployFleet, registerDevices, serveChain, signerToAccount, startEmbeddedChain } from '../../../gateway/settlement/index.js'
import { readGatewayConfig, startGatewayDaemon } from '../../../gateway/daemon/index.js'
import { createLoginToken } from '../../../gateway/dashboard/index.js'
import { runCw } from '../../helpers/run-cw.js'

const FAST = { n: 1024, r: 8, p: 1 }
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const dir = await mkdtemp(join(tmpdir(), 'cw-dashboard-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const passwordFile = join(dir, 'password')
await writeFile(passwordFile, 'correct horse battery staple', { mode: 0o600 })
const store = (name: string): FileKeyStoreConfig => ({ kind: 'file', directory: join(dir, 'keys', name), password: { file: passwordFile }, scrypt: FAST })

async function newKey(config: FileKeyStoreConfig, label: string) {
  const keys = await openKeyStore(config)
  await keys.generate(label)
  const signer = await keys.open(label)
  return { keys, signer }
}
const owner = await newKey(store('owner'), 'owner')
const gatewayKey = await newKey(store('gateway'), 'gateway')
const operator = await newKey(store('operator'), 'operator')
const stranger = await newKey(store('stranger'), 'stranger')
t.teardown(() => operator.keys.close())
t.teardown(() => stranger.keys.close())
await gatewayKey.keys.close()
t.teardown(() => owner.keys.close())

const embedded = await startEmbeddedChain({ fund: [owner.signer.address, gatewayKey.signer.address] })
t.teardown(() => embedded.close())
const served = await serveChain({ chain: embedded })
t.teardown(() => served.close())
const connection = await connectChain({ config: { rpcUrl: served.url, chainId: embedded.chain.id, pollIntervalMs: 50 } })
t.teardown(() => connection.close())
const ownerAccount = signerToAccount({ signer: owner.signer })
const fleetId = keccak256(stringToHex('dashboard-test'))
const contracts = await deployFleet(connection, { owner: ownerAccount, fleet: fleetId, gateways: [gatewayKey.signer.address] })
const fleetFile = join(dir, 'fleet.json')
await writeFleetFile(fleetFile, {
  version: 1,
  fleet: fleetId,
  name: 'dashboard test',
  operators: [operator.signer.address],
  chain: { rpcUrl: served.url, chainId: embedded.chain.id, confirmations: 1 },
  contracts: { ...contracts, deployedAt: contracts.deployedAt.toString() },
  owner: owner.signer.address,
  gateways: [{ address: gatewayKey.signer.address, multiaddrs: [] }],
  domain: { name: 'Counterweight', version: '1', chainId: embedded.chain.id, verifyingContract: contracts.registry },
})

// A validation set of four rows of 4 features: enough to give an accuracy.
const validationCsv = join(dir, 'validation.csv')
await writeFile(validationCsv, 'a,b,c,d,label\n0,1,2,3,0\n3,2,1,0,1\n1,1,1,1,2\n0,0,0,9,1\n')

const gatewayJson = join(dir, 'gateway.json')
const gatewayConfig = {
  version: 1,
  fleetFile: 'fleet.json',
  dataDir: 'gateway-data',
  keyStore: { ...store('gateway'), directory: 'keys/gateway', password: { file: 'password' } },
  keyLabel: 'gateway',
  model: { initial: { mlp: { inputs: 4, hidden: [8], outputs: 3, seed: 7 } } },
  validation: { csv: 'validation.csv', labelColumn: 'label' },
  rounds: { config: { durationSeconds: 15, quorum: 1, strategy: { name: 'fedavg' } }, schedule: { mode: 'manual' } },
}
await writeJsonConfig(gatewayJson, gatewayConfig)

const daemon = await startGatewayDaemon(await readGatewayConfig(gatewayJson))
t.teardown(() => daemon.stop())
const device = '0x00000000000000000000000000000000000000d1' as Address
await registerDevices(connection, { owner: ownerAccount, registry: contracts.registry, devices: [{ device, certificateHash: keccak256(stringToHex('cert-d1')) }] })
const base = `${daemon.url}/dashboard/`
const link = async (signer = operator.signer, options: { ttlSeconds?: number; now?: number } = {}) =>
  createLoginToken({ gateway: gatewayKey.signer.address, fleet: fleetId, signer, ...options })
const shots = await mkdtemp(join(tmpdir(), 'cw-dashboard-shots-'))
t.comment(`screenshots in ${shots}`)

const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
t.teardown(() => browser.close())

t.test('an operator signs in, sees the fleet, starts a round from the page and sees it live', async (t) => {
  const page = await browser.newPage()
  await page.goto(`${base}#login=${await link()}`)
  await page.waitForSelector('#devices tbody tr', { timeout: 30_000 })
  t.match(await page.textContent('#operator'), operator.signer.address, 'signed in as the operator')
  t.match((await page.textContent('#devices'))?.toLowerCase(), device, 'the registered device is in the table')
  const cookies = await page.context().cookies()
  const session = cookies.find((c) => c.name === 'cw_session')
  t.ok(session?.httpOnly, 'the session cookie is HttpOnly')
  t.equal(session?.sameSite, 'Strict')
  await page.screenshot({ path: join(shots, 'fleet.png') })

  await page.goto(`${base}#/rounds`)
  await page.waitForSelector('#accuracy-chart canvas', { timeout: 30_000 })
  t.equal(await page.locator('#rounds tbody tr').count(), 0, 'no round yet')
  await page.click('#start-round')
  await page.waitForSelector('#rounds tbody tr', { timeout: 30_000 }).catch(async (err: unknown) => {
    await page.screenshot({ path: join(shots, 'rounds-failed.png') })
    t.comment(await page.textContent('body'))
    throw err
  })
  t.match(await page.textContent('#rounds tbody tr'), /collecting/, 'the new round shows, without a reload')
  t.equal((await daemon.status()).round, 1, 'the daemon runs it')
  await page.screenshot({ path: join(shots, 'rounds.png') })

  await page.goto(`${base}#/health`)
  await page.waitForSelector('#metrics tbody tr', { timeout: 30_000 })
  t.match(await page.textContent('section'), /key store\s*file/)
  t.match(await page.textContent('#metrics'), /cw_gateway_updates_rejected_total/)
  await page.goto(`${base}#/device/${device}`)
  await page.waitForSelector('#device-rounds', { timeout: 30_000 })
  t.match(await page.textContent('h2'), device)
  await page.close()
})

t.test('bad sign-ins are refused in the page', async (t) => {
  for (const [what, token, expected] of [
    ['no link', undefined, /Not signed in/],
    ['a key the fleet file does not list', await link(stranger.signer), /not an operator/],
    ['an expired link', await link(operator.signer, { ttlSeconds: 60, now: Math.floor(Date.now() / 1000) - 120 }), /expired/],
  ] as const) {
    const page = await browser.newPage()
    await page.goto(token === undefined ? base : `${base}#login=${token}`)
    await page.waitForSelector('#error', { timeout: 30_000 })
    t.match(await page.textContent('#error'), expected, what)
    t.equal(await page.locator('#devices').count(), 0, `${what}: no fleet shown`)
    await page.close()
  }
  const once = await link()
  const first = await fetch(`${base}api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: once }) })
  t.equal(first.status, 200)
  const again = await fetch(`${base}api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: once }) })
  t.equal(again.status, 401, 'a link signs in once')
  t.match(await again.json(), { error: { code: 'CW_DASHBOARD_AUTH', message: /used already/ } })
})

t.test('the API behind the page: 401 without a session, 400 naming the field, 413 for oversized bodies', async (t) => {
  const api = `${base}api`
  for (const [method, path] of [['GET', '/fleet'], ['POST', '/rounds'], ['PUT', '/schedule'], ['GET', '/events']] as const) {
    const res = await fetch(`${api}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(method === 'GET' ? {} : { body: '{}' }) })
    t.equal(res.status, 401, `${method} ${path} without a session`)
  }
  const signIn = await fetch(`${api}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: await link() }) })
  const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  const headers = { 'content-type': 'application/json', cookie }
  const bad = await fetch(`${api}/schedule`, { method: 'PUT', headers, body: JSON.stringify({ mode: 'interval', intervalSeconds: -5 }) })
  t.equal(bad.status, 400)
  t.match(await bad.json(), { error: { code: 'CW_API_REQUEST', field: 'intervalSeconds' } })
  const badToken = await fetch(`${api}/session`, { method: 'POST', headers, body: JSON.stringify({ token: 7 }) })
  t.match(await badToken.json(), { error: { field: 'token' } })
  const big = await fetch(`${api}/schedule`, { method: 'PUT', headers, body: 'x'.repeat(64 * 1024) })
  t.equal(big.status, 413)
  const ok = await fetch(`${api}/schedule`, { method: 'PUT', headers, body: JSON.stringify({ mode: 'manual' }) })
  t.equal(ok.status, 200)
  t.equal((await fetch(`${api}/fleet`, { headers })).status, 200, 'still serving')
  t.equal((await fetch(`${daemon.url}/status`)).status, 200)
})

t.test('cw gateway login prints a one-time link that signs the browser in', async (t) => {
  const keyStoreFile = join(dir, 'operator-key-store.json')
  await writeJsonConfig(keyStoreFile, { ...store('operator'), directory: 'keys/operator', password: { file: 'password' } })
  const out = await runCw(['gateway', 'login', '--config', gatewayJson, '--key-store', keyStoreFile, '--key-label', 'operator', '--ttl', '120', '--json'], { cwd: dir })
  t.equal(out.code, 0, out.stderr)
  const { url, operator: who } = JSON.parse(out.stdout) as { url: string; operator: string }
  t.equal(who, operator.signer.address)
  t.match(url, /\/dashboard\/#login=[A-Za-z0-9_-]+$/, 'the token is after #: browsers never send it to the server')
  const page = await browser.newPage()
  await page.goto(url)
  await page.waitForSelector('#devices', { timeout: 30_000 })
  t.match(await page.textContent('#operator'), operator.signer.address)
  await page.close()
  const bad = await runCw(['gateway', 'login', '--config', gatewayJson, '--key-store', keyStoreFile, '--key-label', 'operator', '--ttl', '99999'], { cwd: dir })
  t.equal(bad.code, 2, 'a --ttl out of range is a usage error')
})

t.teardown(() => rm(shots, { recursive: true, force: true }))
