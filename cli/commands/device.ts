// `cw device …`: enrolment requests on the device, enrolment, revocation and key rotation on the
// owner's side, and the device listing. Passwords and PINs are never arguments: the key-store
// configuration files name the file or environment variable that holds them.
import { readFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
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
import { UsageError } from './decode.js'
import { address, integer } from '../arguments.js'
import { withProgress } from './fleet.js'

const DAY = 24 * 3600

interface OwnerOptions {
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

const ownerCommand = (command: Command): Command =>
  command
    .option('--fleet <file>', 'the fleet file', 'fleet.json')
    .requiredOption('--owner-key <file>', 'key-store configuration (JSON) of the owner key; its password or PIN comes from the file or variable it names')
    .option('--owner-label <label>', 'label of the owner key in its store', 'owner')
    .option('--state <dir>', "the owner's state directory (journal of enrolled devices); `provisioning/` beside the fleet file by default")
    .option('--no-progress', 'no progress lines on stderr')
    .option('--json', 'print the result as JSON')

async function readSensors(file: string | undefined): Promise<SensorSettings[] | undefined> {
  if (file === undefined) return undefined
  const value = await readJsonConfig(file, (v) => v)
  if (!Array.isArray(value)) throw new UsageError(`--sensors ${file} does not hold a JSON array`)
  return value as SensorSettings[] // each entry is checked against the bundle's schema by the enrolment
}

interface RequestOptions {
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

interface EnrollOptions extends OwnerOptions {
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

interface RotateOptions extends Partial<OwnerOptions> {
  bundle?: string
  newLabel?: string
  keyStore?: string
  out?: string
  progress: boolean
}

const summary = (r: { enrolled: unknown[]; skipped: unknown[]; revoked: unknown[]; transactions: unknown[] }): string =>
  `enrolled ${r.enrolled.length}, already enrolled ${r.skipped.length}${r.revoked.length > 0 ? `, revoked ${r.revoked.length} previous keys` : ''}, ${r.transactions.length} transactions`

export function registerDevice(program: Command): void {
  const device = program.command('device').description('enrolment requests (device side); enrolment, revocation, key rotation and listing (owner side)')

  device
    .command('request')
    .description('device side: generate the device key (if absent) and transport key, and write a signed enrolment request')
    .option('--fleet <file>', 'the fleet file', 'fleet.json')
    .requiredOption('--key-store <file>', 'key-store configuration (JSON) of the device key (file or pkcs11)')
    .option('--label <label>', 'label of the device key in its store', 'device')
    .requiredOption('--transport-dir <dir>', 'directory of the libp2p transport key (created when absent)')
    .requiredOption('--serial <serial>', "the device's serial number")
    .option('--hardware <file>', 'a hardware profile (JSON) instead of detecting it')
    .option('--hardware-root <dir>', 'detect the hardware under this root', '/')
    .option('--out <file>', 'write the request here (one line); standard output when absent')
    .option('--json', 'print the result as JSON')
    .action(async (o: RequestOptions) => {
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
    })

  ownerCommand(
    device
      .command('enroll')
      .description('owner side: check requests, issue certificates, register the devices on chain in batches, write device bundles; re-running resumes')
      .argument('[requests...]', 'enrolment request files')
      .option('--csv <file>', 'bulk: a CSV with columns request[,bundle][,sensors] (paths relative to the CSV)')
      .option('--out <file>', 'with one request: where to write its bundle')
      .option('--bundle-dir <dir>', 'where bundles go, named <device address>.json (default: bundles/ beside the CSV, or in the current directory)')
      .option('--bootstrap <multiaddr...>', "bootstrap multiaddrs for the bundles (default: the fleet's gateways')")
      .option('--sensors <file>', 'a JSON file with the sensors array for every bundle (CSV rows may name their own)')
      .option('--valid-days <n>', 'certificate validity in days', '365')
      .option('--max-samples <n>', 'the most samples each device may claim in an update, written into its certificate (max-samples:<n>); gateways refuse larger claims')
      .option('--max-request-age-days <n>', 'refuse requests older than this', '30')
      .option('--batch <n>', 'devices per registration transaction', '100'),
  ).action(async (requests: string[], o: EnrollOptions) => {
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
  })

  ownerCommand(
    device
      .command('revoke')
      .description('owner side: revoke devices on chain (final); gateways refuse them from their next submission')
      .argument('<addresses...>', 'device addresses')
      .option('--batch <n>', 'devices per revocation transaction', '100'),
  ).action(async (addresses: string[], o: OwnerOptions & { batch?: string }) => {
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
  })

  device
    .command('rotate-key')
    .description(
      'key rotation. Device side (--bundle): generate a new key and write a request signed by it and endorsed by the old key. ' +
        'Owner side (<request>): certify the new key, register it and revoke the old one in the same run, and write the new bundle',
    )
    .argument('[request]', 'owner side: the rotation request file')
    .option('--bundle <file>', "device side: the device's bundle (device.json); its key is the old key")
    .option('--new-label <label>', 'device side: label of the new key')
    .option('--key-store <file>', "device side: key-store configuration of the new key (the bundle's store when absent)")
    .option('--out <file>', 'device side: where to write the request (standard output when absent); owner side: where to write the new bundle (over the old one when absent)')
    .option('--fleet <file>', 'owner side: the fleet file', 'fleet.json')
    .option('--owner-key <file>', 'owner side: key-store configuration (JSON) of the owner key')
    .option('--owner-label <label>', 'owner side: label of the owner key', 'owner')
    .option('--state <dir>', "owner side: the owner's state directory")
    .option('--no-progress', 'no progress lines on stderr')
    .option('--json', 'print the result as JSON')
    .action(async (request: string | undefined, o: RotateOptions) => {
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
    })

  device
    .command('ls')
    .description("list the fleet's devices from the chain and the owner's journal, with their status")
    .option('--fleet <file>', 'the fleet file', 'fleet.json')
    .option('--state <dir>', "the owner's state directory; `provisioning/` beside the fleet file by default")
    .option('--json', 'print as JSON')
    .action(async (o: { fleet: string; state?: string; json?: boolean }) => {
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
    })
}
