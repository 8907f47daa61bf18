// Bad input to provisioning, each case its own typed error, and nothing half-written: no journal
// line, no bundle, no transaction (the owner's nonce is unchanged), no fleet file. The chain is
// the embedded EVM in this process, which the library reaches through the connection it is given.
import t from 'tap'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createMemorySigner, decodeEnrolmentRequest, encodeEnrolmentRequest, type FleetFile } from '../../protocols/index.js'
import {
  createEnrolmentRequest,
  createFleet,
  enrolDevices,
  enrolFromCsv,
  readKeyStoreConfig,
  verifyDeviceBundle,
  type CreateEnrolmentRequestReturnType,
} from '../../provisioning/index.js'
import { ENV, fileStore, generateKey, PROFILE, rejection, snapshot, startChain, tempDir } from './helpers.js'

const dir = await tempDir(t, 'provision-bad')
const chain = await startChain(t, 'embedded')
const { connection } = chain
const ownerStore = fileStore(join(dir, 'owner-keys'))
const owner = { keyStore: ownerStore, label: 'owner' }
const ownerAddress = await generateKey(ownerStore, 'owner')
await chain.fund(ownerAddress)
const fleetFile = join(dir, 'fleet.json')
const otherFleetFile = join(dir, 'other-fleet.json')
await createFleet({ file: fleetFile, owner, chain: { chainId: 31337 }, connection, env: ENV })
await createFleet({ file: otherFleetFile, owner, chain: { chainId: 31337 }, connection, env: ENV })
const stateDir = join(dir, 'state')
const bundles = join(dir, 'bundles')
const common = { fleet: fleetFile, owner, stateDir, connection, env: ENV }

let n = 0
const request = (over: { fleet?: string; now?: number } = {}): Promise<CreateEnrolmentRequestReturnType> => {
  n++
  return createEnrolmentRequest({
    fleet: over.fleet ?? fleetFile,
    key: { keyStore: fileStore(join(dir, 'devices', `${n}`, 'keys')) },
    transportKeyDir: join(dir, 'devices', `${n}`, 'transport'),
    serial: `SN-${n}`,
    hardware: PROFILE,
    env: ENV,
    ...(over.now === undefined ? {} : { now: over.now }),
  })
}

/** Runs `f`, expecting it to throw an error with `code`, and checks that nothing was written. */
async function refusedCleanly(t: Checks, f: () => Promise<unknown>, expected: Record<string, unknown>, what: string): Promise<void> {
  const files = await snapshot(dir)
  const nonce = await chain.nonce(ownerAddress)
  t.match(await rejection(f()), expected, what)
  t.same(await snapshot(dir), files, 'no file written or changed')
  t.equal(await chain.nonce(ownerAddress), nonce, 'no transaction sent')
}
type Checks = Parameters<Parameters<typeof t.test>[0]>[0]

t.test('a tampered request: CW_ENROL_SIGNATURE', async (t) => {
  const made = await request()
  const tampered = { ...made.request, serial: 'SN-STOLEN' }
  await refusedCleanly(t, () => enrolDevices({ ...common, devices: [{ request: encodeEnrolmentRequest(tampered), source: 'tampered.json', bundle: join(bundles, 'x.json') }] }), {
    code: 'CW_ENROL_SIGNATURE',
    details: { source: 'tampered.json', which: 'signature' },
  }, 'a request changed after signing')
  // A byte flipped in the signature itself.
  const sig = made.request.signature
  const flipped = { ...made.request, signature: `${sig.slice(0, 10)}${sig[10] === 'a' ? 'b' : 'a'}${sig.slice(11)}` as `0x${string}` }
  await refusedCleanly(t, () => enrolDevices({ ...common, devices: [{ request: JSON.stringify(flipped), bundle: join(bundles, 'x.json') }] }), { code: 'CW_ENROL_SIGNATURE' }, 'a forged signature')
  // Not a request at all.
  await refusedCleanly(t, () => enrolDevices({ ...common, devices: [{ request: '{"type":"counterweight.enrolment-request"', source: 'cut.json', bundle: join(bundles, 'x.json') }] }), {
    code: 'CW_ENROL_REQUEST_FORMAT',
    details: { source: 'cut.json' },
  }, 'a request cut short')
  const extra = JSON.stringify({ ...made.request, admin: true })
  await refusedCleanly(t, () => enrolDevices({ ...common, devices: [{ request: extra, bundle: join(bundles, 'x.json') }] }), { code: 'CW_ENROL_REQUEST_FORMAT', details: { field: 'request.admin' } }, 'an unknown field')
})

t.test('a request for another fleet: CW_ENROL_FLEET_MISMATCH', async (t) => {
  const made = await request({ fleet: otherFleetFile })
  await refusedCleanly(t, () => enrolDevices({ ...common, devices: [{ request: made.encoded, source: 'other.json', bundle: join(bundles, 'x.json') }] }), {
    code: 'CW_ENROL_FLEET_MISMATCH',
    details: { field: 'fleet' },
  }, 'refused')
})

t.test('a stale request, and one from the future: CW_ENROL_REQUEST_STALE', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const old = await request({ now: now - 31 * 24 * 3600 })
  await refusedCleanly(t, () => enrolDevices({ ...common, devices: [{ request: old.encoded, bundle: join(bundles, 'x.json') }] }), { code: 'CW_ENROL_REQUEST_STALE' }, '31 days old')
  const future = await request({ now: now + 3600 })
  await refusedCleanly(t, () => enrolDevices({ ...common, devices: [{ request: future.encoded, bundle: join(bundles, 'x.json') }] }), { code: 'CW_ENROL_REQUEST_STALE' }, 'an hour ahead')
})

t.test('an expired certificate: CW_CERTIFICATE_EXPIRED', async (t) => {
  const made = await request()
  const now = Math.floor(Date.now() / 1000)
  await refusedCleanly(t, () => enrolDevices({ ...common, validUntil: now - 60, devices: [{ request: made.encoded, bundle: join(bundles, 'x.json') }] }), {
    code: 'CW_CERTIFICATE_EXPIRED',
  }, 'a validity that has ended already is refused before anything is signed')
  // A certificate that was valid when issued and has expired since.
  const bundle = join(bundles, `${made.device}.json`)
  const result = await enrolDevices({ ...common, validitySeconds: 3600, devices: [{ request: made.encoded, bundle }] })
  t.equal(result.enrolled.length, 1)
  t.ok(await verifyDeviceBundle({ bundle }), 'valid now')
  t.match(await rejection(verifyDeviceBundle({ bundle, now: now + 7200 })), { code: 'CW_CERTIFICATE_EXPIRED', details: { device: made.device } }, 'expired two hours on')
  const other = JSON.parse(await readFile(otherFleetFile, 'utf8')) as FleetFile
  t.match(await rejection(verifyDeviceBundle({ bundle, fleet: other })), { code: 'CW_CERTIFICATE_INVALID' }, "checked against another fleet: CW_CERTIFICATE_INVALID")
})

t.test('a malformed CSV row is reported with its line number; the other rows are enrolled', async (t) => {
  const good1 = await request()
  const good2 = await request()
  const foreign = await request({ fleet: otherFleetFile })
  await writeFile(join(dir, 'good1.req'), good1.encoded)
  const csv = join(dir, 'mixed.csv')
  await writeFile(
    csv,
    [
      'request,bundle',
      'good1.req,out/1.json',
      '"unterminated.req,out/2.json', // line 3: a quote never closed
      `base64:${Buffer.from(good2.encoded).toString('base64')},out/3.json`,
      'missing.req,out/4.json', // line 5: no such file
      `base64:${Buffer.from(foreign.encoded).toString('base64')},out/5.json`, // line 6: another fleet
      'only-one-field', // line 7
      '',
    ].join('\n'),
  )
  const result = await enrolFromCsv({ ...common, csv })
  t.equal(result.rows, 6)
  t.same(result.enrolled.map((e) => e.device).sort(), [good1.device, good2.device].sort(), 'the two good rows are enrolled')
  t.same(
    result.rejected.map((r) => [r.line, r.error.code]),
    [
      [3, 'CW_ENROL_CSV_ROW'],
      [5, 'CW_ENROL_CSV_ROW'],
      [6, 'CW_ENROL_FLEET_MISMATCH'],
      [7, 'CW_ENROL_CSV_ROW'],
    ],
    'each bad row by its line, with its own error',
  )
  t.match(result.rejected[0]?.error, { details: { line: 3, column: 'row' } })
  t.match(result.rejected[1]?.error, { details: { line: 5, column: 'request' } })
  t.equal((await stat(join(dir, 'out', '5.json')).catch(() => undefined)) === undefined, true, 'no bundle for a refused row')
  await writeFile(join(dir, 'headless.csv'), 'good1.req,out/1.json\n')
  await refusedCleanly(t, () => enrolFromCsv({ ...common, csv: join(dir, 'headless.csv') }), { code: 'CW_ENROL_CSV_FORMAT' }, 'a CSV without a header is refused as a whole')
})

t.test('a missing key store: CW_PROVISION_KEY_STORE_MISSING', async (t) => {
  const made = await request()
  await refusedCleanly(t, () => enrolDevices({ ...common, owner: { keyStore: fileStore(join(dir, 'no-such-keys')), label: 'owner' }, devices: [{ request: made.encoded, bundle: join(bundles, 'x.json') }] }), {
    code: 'CW_PROVISION_KEY_STORE_MISSING',
  }, 'the owner key directory is missing')
  await refusedCleanly(t, () => readKeyStoreConfig(join(dir, 'no-such-config.json')), { code: 'CW_PROVISION_KEY_STORE_MISSING' }, 'the key-store configuration file is missing')
  await refusedCleanly(
    t,
    () => enrolDevices({ ...common, owner: { keyStore: { kind: 'pkcs11', module: join(dir, 'no-such-module.so'), token: { label: 'x' }, pin: { env: 'CW_TEST_PIN' } } }, devices: [] }),
    { code: 'CW_PROVISION_KEY_STORE_MISSING' },
    'the PKCS#11 module is missing',
  )
  await refusedCleanly(
    t,
    () =>
      createEnrolmentRequest({
        fleet: fleetFile,
        key: { keyStore: fileStore(join(dir, 'devices', 'rotating', 'keys')), label: 'new' },
        previous: { keyStore: fileStore(join(dir, 'devices', 'gone', 'keys')) },
        transportKeyDir: join(dir, 'devices', 'rotating', 'transport'),
        serial: 'SN-R',
        hardware: PROFILE,
        env: ENV,
      }),
    { code: 'CW_PROVISION_KEY_STORE_MISSING' },
    "a rotation whose old key store is gone: no new key is left behind",
  )
})

t.test('other refusals: owner mismatch, duplicates, rotation, fleet setup', async (t) => {
  const made = await request()
  const strangerStore = fileStore(join(dir, 'stranger-keys'))
  await generateKey(strangerStore, 'owner')
  await refusedCleanly(t, () => enrolDevices({ ...common, owner: { keyStore: strangerStore }, devices: [{ request: made.encoded, bundle: join(bundles, 'x.json') }] }), {
    code: 'CW_PROVISION_NOT_OWNER',
  }, 'a key that is not the owner')
  await refusedCleanly(
    t,
    () => enrolDevices({ ...common, devices: [{ request: made.encoded, bundle: join(bundles, 'x.json') }, { request: made.encoded, bundle: join(bundles, 'y.json') }] }),
    { code: 'CW_PROVISION_DEVICE_CONFLICT' },
    'the same device twice in one run',
  )
  const unknownPrevious = decodeEnrolmentRequest(made.encoded)
  await refusedCleanly(
    t,
    () => enrolDevices({ ...common, devices: [{ request: JSON.stringify({ ...unknownPrevious, previous: createMemorySigner().address, endorsement: unknownPrevious.signature }), bundle: join(bundles, 'x.json') }] }),
    { code: 'CW_ENROL_SIGNATURE' },
    'a rotation whose endorsement is not by the previous key',
  )
  await refusedCleanly(t, () => createFleet({ file: fleetFile, owner, chain: { chainId: 31337 }, connection, env: ENV }), { code: 'CW_PROVISION_FLEET_SETUP', details: { field: 'file' } }, 'an existing fleet file')
  const poorStore = fileStore(join(dir, 'poor-keys'))
  await generateKey(poorStore, 'owner')
  await refusedCleanly(t, () => createFleet({ file: join(dir, 'poor-fleet.json'), owner: { keyStore: poorStore }, chain: { chainId: 31337 }, connection, env: ENV }), {
    code: 'CW_PROVISION_FLEET_SETUP',
    details: { field: 'owner' },
  }, 'an owner with no ether for gas')
})
