// `cw device …`: enrolment requests on the device, enrolment, revocation and key rotation on the
// owner's side, and the device listing. Passwords and PINs are never arguments: the key-store
// configuration files name the file or environment variable that holds them.
// This is the implementation, loaded when the command runs; cli/commands/device.ts defines its options.
import { readFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { MAX_ENROLMENT_REQUEST_BYTES } from '../../protocols/index.js'
import { parseHardwareProfile, readDeviceBundle, readJsonConfig, type HardwareProfile } from '../../hardware/index.js'
import {
  createEnrolmentRequest,
  enrolDevices,
  enrolFromCsv,
  listDevices,
  readKeyStoreConfig,
  revokeDevices,
  rotateDeviceKey,
  type DeviceEnrolment,
  type EnrolDevicesParameters,
  type OwnerKeyParameters,
  type SensorSettings,
} from '../../provisioning/index.js'
import { EXIT, toJson } from '../output.js'
import { UsageError } from '../usage-error.js'
import { address, integer } from '../arguments.js'
import { withProgress } from './fleet.js'

const DAY = 24 * 3600

export interface OwnerOptions {
  fleet: string
  ownerKey: string
  ownerLabel: string
  state?: string
  progress: boolean
  json?: boolean
}

/** The owner's side of a command: the fleet file, the owner key and the state directory (beside the fleet file by default). */
async function ownerParameters(o: OwnerOptions): Promise<{ fleet: string; owner: OwnerKeyParameters; stateDir: string }> {
  return {
    fleet: o.fleet,
    owner: { keyStore: await readKeyStoreConfig(o.ownerKey), label: o.ownerLabel },
    stateDir: o.state ?? join(dirname(resolve(o.fleet)), 'provisioning'),
  }
}


async function readSensors(file: string | undefined): Promise<SensorSettings[] | undefined> {
  if (file === undefined) return undefined
  const value = await readJsonConfig(file, (v) => v)
  if (!Array.isArray(value)) throw new UsageError(`--sensors ${file} does not hold a JSON array`)
  return value as SensorSettings[] // each entry is checked against the bundle's schema by the enrolment
}

export interface RequestOptions {
  fleet: string
  keyStore: string
  label: string
  transportDir: string
  serial: string
  hardware?: string
  hardwareRoot?: string
  out?: string
  json?: boolean
}

export interface EnrollOptions extends OwnerOptions {
  csv?: string
  out?: string
  bundleDir?: string
  bootstrap?: string[]
  sensors?: string
  validDays?: string
  maxSamples?: string
  maxRequestAgeDays?: string
  batch?: string
}

export interface RotateOptions extends Partial<OwnerOptions> {
  bundle?: string
  newLabel?: string
  keyStore?: string
  out?: string
  progress: boolean
}

const summary = (r: { enrolled: unknown[]; skipped: unknown[]; revoked: unknown[]; transactions: unknown[] }): string =>
  `enrolled ${r.enrolled.length}, already enrolled ${r.skipped.length}${r.revoked.length > 0 ? `, revoked ${r.revoked.length} previous keys` : ''}, ${r.transactions.length} transactions`

export async function deviceRequestCommand(o: RequestOptions): Promise<void> {
  let hardware: HardwareProfile | undefined
  if (o.hardware !== undefined) hardware = await readJsonConfig(o.hardware, (v) => parseHardwareProfile(v))
  const result = await createEnrolmentRequest({
    fleet: o.fleet,
    key: { keyStore: await readKeyStoreConfig(o.keyStore), label: o.label },
    transportKeyDir: o.transportDir,
    serial: o.serial,
    ...(hardware === undefined ? { hardwareRoot: o.hardwareRoot ?? '/' } : { hardware }),
    ...(o.out === undefined ? {} : { output: o.out }),
  })
  const text = new TextDecoder().decode(result.encoded)
  if (o.json === true) console.log(toJson({ device: result.device, peerId: result.peerId, generated: result.generated, ...(o.out === undefined ? { request: JSON.parse(text) as unknown } : { file: resolve(o.out) }) }))
  else if (o.out === undefined) console.log(text)
  else console.log(`device ${result.device} (peer ${result.peerId})${result.generated ? ', key generated' : ''}: request written to ${resolve(o.out)}`)
}

export async function deviceEnrollCommand(requests: string[], o: EnrollOptions): Promise<void> {
  if ((o.csv === undefined) === (requests.length === 0)) throw new UsageError('give request files or --csv, not both and not neither')
  if (o.out !== undefined && requests.length !== 1) throw new UsageError('--out goes with exactly one request')
  const base = await ownerParameters(o)
  const sensors = await readSensors(o.sensors)
  const common: Omit<EnrolDevicesParameters, 'devices'> = {
    ...base,
    validitySeconds: integer('--valid-days', o.validDays ?? '365', 1, 3650) * DAY,
    maxRequestAgeSeconds: integer('--max-request-age-days', o.maxRequestAgeDays ?? '30', 1, 3650) * DAY,
    batchSize: integer('--batch', o.batch ?? '100', 1, 1000),
    ...(o.maxSamples === undefined ? {} : { maxSamples: integer('--max-samples', o.maxSamples, 1, Number.MAX_SAFE_INTEGER) }),
    ...(o.bootstrap === undefined ? {} : { bootstrap: o.bootstrap }),
    ...withProgress(o.progress),
  }
  if (o.csv !== undefined) {
    const result = await enrolFromCsv({ ...common, csv: o.csv, ...(o.bundleDir === undefined ? {} : { bundleDir: o.bundleDir }) })
    const rejected = result.rejected.map((r) => ({ line: r.line, code: r.error.code, message: r.error.message }))
    if (o.json === true) console.log(toJson({ ...result, rejected }))
    else {
      console.log(`${result.rows} rows: ${summary(result)}, refused ${rejected.length}`)
      for (const r of rejected) console.error(`line ${r.line}: error ${r.code}: ${r.message}`)
    }
    if (rejected.length > 0) process.exitCode = result.enrolled.length + result.skipped.length > 0 ? EXIT.partial : EXIT.rejected
    return
  }
  const devices: DeviceEnrolment[] = []
  for (const file of requests) {
    const bytes = await readFile(file)
    if (bytes.length > MAX_ENROLMENT_REQUEST_BYTES + 2) throw new UsageError(`${file} is larger than a request can be`)
    // The bundle is named after the device, known once the request is decoded: a placeholder here, set below.
    devices.push({ request: bytes, source: file, bundle: o.out ?? '', ...(sensors === undefined ? {} : { sensors }) })
  }
  const bundleDir = resolve(o.bundleDir ?? 'bundles')
  for (const d of devices) {
    if (d.bundle !== '') continue
    let device: unknown
    try {
      device = (JSON.parse(new TextDecoder().decode(d.request as Uint8Array)) as { device?: unknown }).device
    } catch {
      // Not JSON: the enrolment refuses it with its typed error before any bundle is written.
    }
    d.bundle = join(bundleDir, `${typeof device === 'string' && /^0x[0-9a-fA-F]{40}$/.test(device) ? device : basename(d.source ?? 'device')}.json`)
  }
  const result = await enrolDevices({ ...common, devices })
  if (o.json === true) console.log(toJson(result))
  else {
    for (const d of result.enrolled) console.log(`enrolled  ${d.device} ${d.serial} -> ${d.bundle}`)
    for (const d of result.skipped) console.log(`unchanged ${d.device} ${d.serial} (enrolled before)`)
    console.log(summary(result))
  }
}

export async function deviceRevokeCommand(addresses: string[], o: OwnerOptions & { batch?: string }): Promise<void> {
  const result = await revokeDevices({
    ...(await ownerParameters(o)),
    devices: addresses.map((a) => address('address', a)),
    batchSize: integer('--batch', o.batch ?? '100', 1, 1000),
    ...withProgress(o.progress),
  })
  if (o.json === true) console.log(toJson(result))
  else {
    for (const d of result.revoked) console.log(`revoked   ${d}`)
    for (const d of result.skipped) console.log(`unchanged ${d} (revoked before)`)
  }
}

export async function deviceRotateKeyCommand(request: string | undefined, o: RotateOptions): Promise<void> {
  if ((request === undefined) === (o.bundle === undefined)) throw new UsageError('give --bundle (device side) or a request file (owner side)')
  if (o.bundle !== undefined) {
    if (o.newLabel === undefined) throw new UsageError('--new-label is required on the device side')
    const bundle = await readDeviceBundle(o.bundle)
    if (o.newLabel === bundle.keyLabel) throw new UsageError('--new-label must differ from the current key label')
    const keyStore = o.keyStore === undefined ? bundle.keyStore : await readKeyStoreConfig(o.keyStore)
    const result = await createEnrolmentRequest({
      fleet: bundle.fleet,
      key: { keyStore, label: o.newLabel },
      previous: { keyStore: bundle.keyStore, label: bundle.keyLabel },
      transportKeyDir: bundle.transportKeyDir,
      serial: bundle.serial,
      ...(bundle.hardware === undefined ? {} : { hardware: bundle.hardware }),
      ...(o.out === undefined ? {} : { output: o.out }),
    })
    const text = new TextDecoder().decode(result.encoded)
    if (o.json === true) console.log(toJson({ device: result.device, previous: bundle.device, ...(o.out === undefined ? { request: JSON.parse(text) as unknown } : { file: resolve(o.out) }) }))
    else if (o.out === undefined) console.log(text)
    else console.log(`new key ${result.device} replaces ${bundle.device}: request written to ${resolve(o.out)}`)
    return
  }
  if (o.ownerKey === undefined) throw new UsageError('--owner-key is required on the owner side')
  const result = await rotateDeviceKey({
    ...(await ownerParameters({ fleet: o.fleet ?? 'fleet.json', ownerKey: o.ownerKey, ownerLabel: o.ownerLabel ?? 'owner', progress: o.progress, ...(o.state === undefined ? {} : { state: o.state }) })),
    request: await readFile(request as string),
    source: request as string,
    ...(o.out === undefined ? {} : { bundle: o.out }),
    ...withProgress(o.progress),
  })
  if (o.json === true) console.log(toJson(result))
  else console.log(`${result.changed ? 'rotated' : 'unchanged (rotated before)'}: ${result.previous} -> ${result.device.device}, bundle ${result.device.bundle}`)
}

export async function deviceLsCommand(o: { fleet: string; state?: string; json?: boolean }): Promise<void> {
  const devices = await listDevices({ fleet: o.fleet, stateDir: o.state ?? join(dirname(resolve(o.fleet)), 'provisioning') })
  if (o.json === true) {
    console.log(toJson(devices))
    return
  }
  console.log(['device'.padEnd(42), 'status'.padEnd(11), 'serial'.padEnd(16), 'valid until'].join(' '))
  for (const d of devices)
    console.log([d.device, d.status.padEnd(11), (d.serial ?? '-').padEnd(16), d.validUntil === null ? '-' : new Date(d.validUntil * 1000).toISOString().slice(0, 10)].join(' '))
  const counts = new Map<string, number>()
  for (const d of devices) counts.set(d.status, (counts.get(d.status) ?? 0) + 1)
  console.log(`${devices.length} devices: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`)
}
