// End to end against a local JSON-RPC node (`hardhat node` on 127.0.0.1): a fleet whose owner key
// lives in a SoftHSM2 token, 3 devices whose keys live in their own tokens, and 100 devices with
// file keys enrolled through the bulk CSV path in batches. Certificates verify against the fleet,
// devices are registered on chain with their certificate's hash, and running the bulk enrolment
// again sends no transaction and touches no file.
import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isAddressEqual, type Address } from 'viem'
import { fleetRegistryAbi, parseFleetFile, verifyDeviceCertificate } from '../../protocols/index.js'
import { readDeviceBundle, type Pkcs11KeyStoreConfig } from '../../hardware/index.js'
import {
  createEnrolmentRequest,
  createFleet,
  enrolDevices,
  enrolFromCsv,
  listDevices,
  verifyDeviceBundle,
  type ProvisioningProgress,
} from '../../provisioning/index.js'
import { createSoftHsm } from '../hardware/keys/softhsm.js'
import { ENV, fileStore, generateKey, PIN, PIN_ENV, PROFILE, snapshot, startChain, tempDir } from './helpers.js'

const BULK = 100
const hsm = await createSoftHsm(t)
for (const label of ['owner', 'device-0', 'device-1', 'device-2']) await hsm.initToken(label, PIN)
const tokenStore = (label: string): Pkcs11KeyStoreConfig => ({ kind: 'pkcs11', module: hsm.module, token: { label }, pin: { env: PIN_ENV } })

const dir = await tempDir(t, 'provision')
const chain = await startChain(t, 'node')
const { connection } = chain
const fleetFile = join(dir, 'fleet.json')
const stateDir = join(dir, 'state')
const ownerStore = tokenStore('owner')
const owner = { keyStore: ownerStore, label: 'owner' }
const gateway = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address
const common = { fleet: fleetFile, owner, stateDir, connection, env: ENV }

const isRegistered = async (device: Address): Promise<boolean> =>
  (await connection.publicClient.readContract({ address: fleet().contracts.registry, abi: fleetRegistryAbi, functionName: 'status', args: [device] })) === 1
let created: Awaited<ReturnType<typeof createFleet>> | undefined
const fleet = () => {
  if (created === undefined) throw new Error('no fleet yet')
  return created.fleet
}

t.test('fleet init: the owner key in SoftHSM2, contracts deployed, the gateway authorised, fleet.json written', async (t) => {
  const ownerAddress = await generateKey(ownerStore, 'owner')
  await chain.fund(ownerAddress)
  const progress: ProvisioningProgress[] = []
  created = await createFleet({
    file: fleetFile,
    name: 'orchard',
    owner,
    chain: { rpcUrl: chain.rpcUrl, chainId: 31337 },
    gateways: [{ address: gateway, multiaddrs: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'] }],
    connection,
    env: ENV,
    onProgress: (p) => progress.push(p),
  })
  const f = created.fleet
  t.equal(f.owner, ownerAddress, 'fleet.json names the token key as owner')
  t.equal(f.chain.rpcUrl, chain.rpcUrl)
  t.equal(f.domain.verifyingContract, f.contracts.registry, 'the EIP-712 domain is the registry')
  t.same(created.authorised, [gateway])
  const client = connection.publicClient
  t.equal(await client.readContract({ address: f.contracts.registry, abi: fleetRegistryAbi, functionName: 'owner' }), ownerAddress, 'the registry is owned by the token key')
  t.equal(await client.readContract({ address: f.contracts.registry, abi: fleetRegistryAbi, functionName: 'fleet' }), f.fleet)
  t.equal(await client.readContract({ address: f.contracts.registry, abi: fleetRegistryAbi, functionName: 'isGateway', args: [gateway] }), true, 'the gateway is authorised on chain')
  t.same(progress.map((p) => p.phase), ['deploy', 'deploy', 'authorise'], 'progress reported')
  t.same(parseFleetFile(JSON.parse(await readFile(fleetFile, 'utf8'))), f, 'the file holds what was returned')
})

t.test('3 devices with keys in their own PKCS#11 tokens', async (t) => {
  const requests = []
  for (let i = 0; i < 3; i++) {
    const made = await createEnrolmentRequest({
      fleet: fleetFile,
      key: { keyStore: tokenStore(`device-${i}`) },
      transportKeyDir: join(dir, 'hsm-devices', `${i}`, 'transport'),
      serial: `HSM-${i}`,
      hardware: PROFILE,
      env: ENV,
    })
    t.equal(made.generated, true, 'the device key was generated in the token')
    t.equal(made.request.keyStorage, 'pkcs11')
    requests.push(made)
  }
  const result = await enrolDevices({ ...common, devices: requests.map((r, i) => ({ request: r.encoded, source: `hsm-${i}`, bundle: join(dir, 'hsm-devices', `${i}`, 'device.json') })) })
  t.equal(result.enrolled.length, 3)
  t.equal(result.transactions.length, 1, 'one registration batch')
  for (const [i, r] of requests.entries()) {
    const file = join(dir, 'hsm-devices', `${i}`, 'device.json')
    const { bundle, certificate, certificateHash } = await verifyDeviceBundle({ bundle: file, fleet: fleet() })
    t.equal(bundle.device, r.device)
    t.equal(bundle.keyStore.kind, 'pkcs11', 'the bundle points at the token, holds no key')
    t.notMatch(await readFile(file, 'utf8'), PIN, 'and no PIN')
    t.equal(certificate.message.keyStorage, 'pkcs11')
    t.equal(certificate.message.serial, `HSM-${i}`)
    t.equal(certificate.message.peerId, r.peerId, 'the certificate binds the transport key')
    t.ok(verifyDeviceCertificate({ domain: fleet().domain, message: certificate.message, signature: certificate.signature, signer: fleet().owner }), 'signed by the owner token key')
    t.ok(await isRegistered(r.device), 'registered on chain')
    const onChain = await connection.publicClient.readContract({ address: fleet().contracts.registry, abi: fleetRegistryAbi, functionName: 'certificateHashOf', args: [r.device] })
    t.equal(onChain, certificateHash, "with its certificate's hash")
  }
})

t.test(`${BULK} devices with file keys through the bulk CSV path, in batches; a second run changes nothing`, async (t) => {
  const requestsDir = join(dir, 'requests')
  const rows = ['request,bundle']
  const devices: Address[] = []
  for (let i = 0; i < BULK; i++) {
    const made = await createEnrolmentRequest({
      fleet: fleetFile,
      key: { keyStore: fileStore(join(dir, 'file-devices', `${i}`, 'keys')) },
      transportKeyDir: join(dir, 'file-devices', `${i}`, 'transport'),
      serial: `SN-${String(i).padStart(4, '0')}`,
      hardware: PROFILE,
      output: join(requestsDir, `${i}.json`),
      env: ENV,
    })
    devices.push(made.device)
    // Half by path, half inline, to cover both forms of the request cell.
    rows.push(i % 2 === 0 ? `requests/${i}.json,bundles/${i}.json` : `base64:${Buffer.from(made.encoded).toString('base64')},bundles/${i}.json`)
  }
  const csv = join(dir, 'enrol.csv')
  await writeFile(csv, `${rows.join('\n')}\n`)
  const ownerAddress = fleet().owner
  const nonceBefore = await chain.nonce(ownerAddress)
  const phases = new Set<string>()
  const started = Date.now()
  const first = await enrolFromCsv({ ...common, csv, batchSize: 40, onProgress: (p) => phases.add(p.phase) })
  t.comment(`${BULK} devices enrolled in ${Date.now() - started} ms`)
  t.equal(first.rows, BULK)
  t.same(first.rejected, [], 'no row refused')
  t.equal(first.enrolled.length, BULK)
  t.equal(first.transactions.length, 3, 'registered in batches of 40: 3 transactions')
  t.equal(await chain.nonce(ownerAddress), nonceBefore + 3)
  t.same([...phases].sort(), ['certify', 'register', 'verify', 'write'])
  const registered = await Promise.all(devices.map(isRegistered))
  t.ok(registered.every(Boolean), `all ${BULK} registered on chain`)
  for (const i of [0, 37, 99]) {
    const { bundle, certificate } = await verifyDeviceBundle({ bundle: join(dir, 'bundles', `${i}.json`), fleet: fleet() })
    t.ok(isAddressEqual(bundle.device, devices[i] as Address), `bundle ${i} is its device's`)
    t.equal(certificate.message.keyStorage, 'file')
    t.equal(bundle.keyStore.kind, 'file')
    t.equal((await readDeviceBundle(join(dir, 'bundles', `${i}.json`))).serial, `SN-${String(i).padStart(4, '0')}`)
  }

  const before = await snapshot(dir)
  const second = await enrolFromCsv({ ...common, csv, batchSize: 40 })
  t.equal(second.enrolled.length, 0, 'nothing enrolled again')
  t.equal(second.skipped.length, BULK, 'every device reported as enrolled before')
  t.same(second.transactions, [], 'no transaction sent')
  t.equal(await chain.nonce(ownerAddress), nonceBefore + 3, 'the owner nonce is unchanged')
  t.same(await snapshot(dir), before, 'no file changed: bundles, journal, requests')
})

t.test('device ls: the chain and the journal agree on 103 active devices', async (t) => {
  const listing = await listDevices({ fleet: fleetFile, stateDir, connection })
  t.equal(listing.length, 3 + BULK)
  t.ok(listing.every((d) => d.status === 'active' && d.chain === 'registered' && d.journal === 'enrolled'), 'all active')
})
