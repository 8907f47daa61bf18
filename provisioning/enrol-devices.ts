// The owner side of enrolment, for one device or thousands:
//   1. check every request (decodes, signed by its device key, for this fleet, fresh, shapes) and
//      every output path, and each device's standing in the journal and on chain — before
//      anything is written;
//   2. issue a DeviceCertificate for each new device and journal it (one synced append);
//   3. register the certified devices on chain, in batches;
//   4. for key rotations, revoke the previous devices on chain and journal that;
//   5. write each device.json bundle and journal the device as enrolled.
// A run that stops anywhere is resumed by running it again: journalled certificates are reused,
// devices registered are skipped by the registration, and devices already enrolled (bundle
// written) are left as they are: no transaction, no file touched.
import { mkdir, readFile, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { getAddress, hexToBytes, isAddressEqual, type Address, type Hex } from 'viem'
import {
  BaseError,
  decodeSigned,
  InvalidArgumentError,
  multiaddrTextSchema,
  type EnrolmentRequest,
  fleetRegistryAbi,
  type FleetFile,
} from '../protocols/index.js'
import {
  certificateHex,
  deviceBundleSchema,
  registerDevices,
  revokeDevices as revokeOnChain,
  writeDeviceBundle,
  type ChainConnection,
  type DeviceBundleInput,
} from '../hardware/index.js'
import { issueDeviceCertificate } from './certificates.js'
import { checkRequestContent, checkRequestFleet, checkRequestFreshness, decodeRequest, type CheckedRequest } from './check-request.js'
import {
  CERTIFICATE_BACKDATE_SECONDS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_CERTIFICATE_VALIDITY_SECONDS,
  DEFAULT_REQUEST_MAX_AGE_SECONDS,
  MAX_CERTIFICATE_VALIDITY_SECONDS,
  STATUS_READ_CONCURRENCY,
} from './constants.js'
import { CertificateExpiredError, DeviceConflictError, RotationError } from './errors.js'
import type { DeviceRecord, JournalEntry, ProvisioningJournal } from './journal.js'
import { openOwnerSession, unixNow, type OwnerKeyParameters, type ProvisioningOptions } from './owner-session.js'
import { bundleKeyStorePaths, relativeToBundle } from './key-stores.js'

/** A sensor configuration as a bundle holds it; its driver validates the rest when it opens it. */
export type SensorSettings = { driver: string; id: string } & Record<string, unknown>

export interface DeviceEnrolment {
  /** The request: decoded, or its wire form (bytes or text). */
  request: EnrolmentRequest | Uint8Array | string
  /** Where the request came from, for errors and reports (a file name, `enrol.csv:12`). */
  source?: string
  /** Where to write the device's bundle (device.json). */
  bundle: string
  sensors?: readonly SensorSettings[]
  /** The device's bootstrap multiaddrs; the run's `bootstrap` when absent. */
  bootstrap?: readonly string[]
  /** The agent daemon's settings, placed in the bundle as they are (the agent validates them). */
  agent?: Record<string, unknown>
}

export interface EnrolDevicesParameters extends ProvisioningOptions {
  /** fleet.json's path, or its content. */
  fleet: string | FleetFile
  owner: OwnerKeyParameters
  /** The owner's state directory: the journal that makes runs resumable. */
  stateDir: string
  devices: readonly DeviceEnrolment[]
  /** Bootstrap multiaddrs for devices that name none; the fleet's gateways' multiaddrs when absent. */
  bootstrap?: readonly string[]
  /** Certificate lifetime in seconds (DEFAULT_CERTIFICATE_VALIDITY_SECONDS); or give `validUntil`. */
  validitySeconds?: number
  /** Unix seconds at which new certificates expire. */
  validUntil?: number
  /** How old a request may be (DEFAULT_REQUEST_MAX_AGE_SECONDS). */
  maxRequestAgeSeconds?: number
  /** Devices per registration transaction (DEFAULT_BATCH_SIZE). */
  batchSize?: number
  /** The most samples each new device may claim in an update, written into its certificate (`max-samples:<n>`). */
  maxSamples?: number
  /**
   * false (the default): the first refused device throws its typed error before anything is
   * written. true: refused devices are reported in `rejected` and the others are enrolled.
   */
  skipInvalid?: boolean
  /** Unix seconds now; the clock when absent. */
  now?: number
}

export interface EnrolledDevice {
  device: Address
  peerId: string
  serial: string
  bundle: string
  certificateHash: Hex
  /** The device this one replaced by a key rotation. */
  previous: Address | null
}

export interface RejectedEnrolment {
  /** Index in `devices`. */
  index: number
  source: string
  error: BaseError
}

export interface EnrolDevicesReturnType {
  /** Devices whose enrolment this run completed. */
  enrolled: EnrolledDevice[]
  /** Devices enrolled before this run; nothing was done for them. */
  skipped: EnrolledDevice[]
  /** Previous devices revoked by key rotations in this run. */
  revoked: Address[]
  rejected: RejectedEnrolment[]
  /** Hashes of the transactions this run sent. */
  transactions: Hex[]
}

interface Planned {
  index: number
  source: string
  checked: CheckedRequest
  input: DeviceEnrolment
  bundle: string
  bootstrap: string[]
  /** The journal's record, when the device was certified by an earlier run. */
  record: DeviceRecord | undefined
}

const STATUS_UNKNOWN = 0
const STATUS_REGISTERED = 1
const STATUS_REVOKED = 2

/** Runs `f` over `items`, at most `limit` at a time, keeping order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

const statusOf = (connection: ChainConnection, registry: Address, device: Address): Promise<number> =>
  connection.publicClient.readContract({ address: registry, abi: fleetRegistryAbi, functionName: 'status', args: [device] })

/** The device a file at `path` is the bundle of; undefined when there is no file; null when it is no bundle. */
async function bundleDeviceAt(path: string): Promise<Address | null | undefined> {
  const info = await stat(path).catch(() => undefined)
  if (info === undefined) return undefined
  if (!info.isFile() || info.size > 4 * 1024 * 1024) return null
  try {
    const device = (JSON.parse(await readFile(path, 'utf8')) as { device?: unknown }).device
    return typeof device === 'string' && /^0x[0-9a-fA-F]{40}$/.test(device) ? getAddress(device) : null
  } catch {
    return null
  }
}

function certificateValidity(parameters: EnrolDevicesParameters, now: number): { validFrom: number; validUntil: number } {
  const { validitySeconds, validUntil } = parameters
  if (validitySeconds !== undefined && (!Number.isInteger(validitySeconds) || validitySeconds < 1 || validitySeconds > MAX_CERTIFICATE_VALIDITY_SECONDS))
    throw new InvalidArgumentError('validitySeconds', `expected an integer in 1..${MAX_CERTIFICATE_VALIDITY_SECONDS}`)
  if (validUntil !== undefined && (!Number.isInteger(validUntil) || validUntil < 0)) throw new InvalidArgumentError('validUntil', 'expected Unix seconds')
  const until = validUntil ?? now + (validitySeconds ?? DEFAULT_CERTIFICATE_VALIDITY_SECONDS)
  const from = Math.max(0, now - CERTIFICATE_BACKDATE_SECONDS)
  // A certificate that would be expired when issued is refused before anything is signed.
  if (until <= now) throw new CertificateExpiredError('(new certificates)', BigInt(from), BigInt(until), BigInt(now))
  if (until - now > MAX_CERTIFICATE_VALIDITY_SECONDS) throw new InvalidArgumentError('validUntil', `more than ${MAX_CERTIFICATE_VALIDITY_SECONDS} s ahead`)
  return { validFrom: from, validUntil: until }
}

export async function enrolDevices(parameters: EnrolDevicesParameters): Promise<EnrolDevicesReturnType> {
  const now = parameters.now ?? unixNow()
  const validity = certificateValidity(parameters, now)
  const batchSize = parameters.batchSize ?? DEFAULT_BATCH_SIZE
  const session = await openOwnerSession(parameters)
  try {
    return await enrolWithSession(parameters, session, now, validity, batchSize)
  } finally {
    await session.close()
  }
}

async function enrolWithSession(
  parameters: EnrolDevicesParameters,
  session: Awaited<ReturnType<typeof openOwnerSession>>,
  now: number,
  validity: { validFrom: number; validUntil: number },
  batchSize: number,
): Promise<EnrolDevicesReturnType> {
  const { fleet, owner, connection, logger } = session
  const journal = session.journal as ProvisioningJournal
  const { signal, onProgress } = parameters
  const options = signal === undefined ? {} : { signal }
  const registry = fleet.contracts.registry
  const maxAge = parameters.maxRequestAgeSeconds ?? DEFAULT_REQUEST_MAX_AGE_SECONDS
  const defaultBootstrap = parameters.bootstrap ?? fleet.gateways.flatMap((g) => g.multiaddrs)
  const rejected: RejectedEnrolment[] = []
  const refuse = (index: number, source: string, err: unknown): void => {
    if (!(err instanceof BaseError) || parameters.skipInvalid !== true) throw err
    rejected.push({ index, source, error: err })
  }

  // 1. Checks, in order of cost: content, then the journal and output paths, then the chain.
  const planned: Planned[] = []
  const devicesSeen = new Map<Address, string>()
  const bundlesSeen = new Map<string, string>()
  for (const [index, input] of parameters.devices.entries()) {
    signal?.throwIfAborted()
    const source = input.source ?? `devices.${index}`
    try {
      const request = decodeRequest(input.request, source)
      const checked = checkRequestContent(request, source)
      checkRequestFleet(request, fleet, source)
      const device = request.device
      const record = journal.get(device)
      if (record?.state === 'revoked') throw new DeviceConflictError(device, `was revoked (${source}); a revoked device is never enrolled again`)
      if (record !== undefined && record.peerId !== request.peerId)
        throw new DeviceConflictError(device, `was certified for peer ${record.peerId}, the request (${source}) names ${request.peerId}`)
      // A device certified by an earlier run is being resumed: its request may have aged since.
      if (record === undefined) checkRequestFreshness(request, now, maxAge, source)
      const bundle = resolve(input.bundle)
      const earlier = devicesSeen.get(device)
      if (earlier !== undefined) throw new DeviceConflictError(device, `appears twice in this run (${earlier} and ${source})`)
      const other = bundlesSeen.get(bundle)
      if (other !== undefined) throw new DeviceConflictError(device, `its bundle path ${bundle} is also the bundle of ${other}`)
      const bootstrap = [...(input.bootstrap ?? defaultBootstrap)]
      const shapes = deviceBundleSchema.shape
      for (const [field, schema, value] of [
        ['sensors', shapes.sensors, input.sensors ?? []],
        ['bootstrap', shapes.bootstrap, bootstrap],
        ['agent', shapes.agent, input.agent],
      ] as const) {
        const result = schema.safeParse(value)
        if (!result.success) {
          const issue = result.error.issues[0]
          throw new InvalidArgumentError([`devices.${index}.${field}`, ...(issue?.path ?? []).map(String)].join('.'), issue?.message ?? 'invalid')
        }
      }
      for (const [j, m] of bootstrap.entries()) if (!multiaddrTextSchema.safeParse(m).success) throw new InvalidArgumentError(`devices.${index}.bootstrap.${j}`, 'expected a multiaddr')
      const existing = await bundleDeviceAt(bundle)
      if (existing === null) throw new DeviceConflictError(device, `its bundle path ${bundle} holds a file that is not a device bundle`)
      if (existing !== undefined && existing !== device) {
        // A rotation replaces the previous device's bundle in place.
        if (request.previous === null || existing !== request.previous) throw new DeviceConflictError(device, `its bundle path ${bundle} holds the bundle of ${existing}`)
      }
      if (request.previous !== null) checkRotation(request, journal, source)
      devicesSeen.set(device, source)
      bundlesSeen.set(bundle, device)
      planned.push({ index, source, checked, input, bundle, bootstrap, record })
    } catch (err) {
      refuse(index, source, err)
    }
    onProgress?.({ phase: 'verify', done: index + 1, total: parameters.devices.length })
  }

  // Chain standing: a device new to the journal must be new to the registry; a journalled one
  // registered on chain must carry the journalled certificate; a rotation's previous device must be registered.
  const statuses = await mapLimited(planned, STATUS_READ_CONCURRENCY, (p) => statusOf(connection, registry, p.checked.request.device))
  const previousStatuses = await mapLimited(planned, STATUS_READ_CONCURRENCY, async (p) =>
    p.checked.request.previous === null ? STATUS_UNKNOWN : statusOf(connection, registry, p.checked.request.previous),
  )
  const accepted: Planned[] = []
  for (const [i, p] of planned.entries()) {
    const device = p.checked.request.device
    try {
      const status = statuses[i]
      if (status === STATUS_REVOKED) throw new DeviceConflictError(device, 'is revoked on chain')
      if (status === STATUS_REGISTERED && p.record === undefined) throw new DeviceConflictError(device, 'is registered on chain already, by an enrolment this state directory has no record of')
      if (status === STATUS_REGISTERED && p.record !== undefined) {
        const onChain = await connection.publicClient.readContract({ address: registry, abi: fleetRegistryAbi, functionName: 'certificateHashOf', args: [device] })
        if (onChain.toLowerCase() !== p.record.certificateHash.toLowerCase())
          throw new DeviceConflictError(device, `is registered on chain with certificate ${onChain}, the journal holds ${p.record.certificateHash}`)
      }
      const previous = p.checked.request.previous
      if (previous !== null) {
        const ps = previousStatuses[i]
        const replaced = journal.get(previous)?.replacedBy
        if (ps === STATUS_UNKNOWN) throw new RotationError(previous, 'is not registered on chain')
        if (ps === STATUS_REVOKED && (replaced === null || replaced === undefined || !isAddressEqual(replaced, device)))
          throw new RotationError(previous, 'is revoked already')
      }
      accepted.push(p)
    } catch (err) {
      refuse(p.index, p.source, err)
    }
  }

  // Devices fully enrolled before: nothing to do, unless their bundle has gone missing.
  const describe = (p: Planned, certificateHash: Hex): EnrolledDevice => ({
    device: p.checked.request.device,
    peerId: p.checked.request.peerId,
    serial: p.checked.request.serial,
    bundle: p.bundle,
    certificateHash,
    previous: p.checked.request.previous,
  })
  const skipped: EnrolledDevice[] = []
  const work: Planned[] = []
  for (const p of accepted) {
    if (p.record?.state === 'enrolled' && (await bundleDeviceAt(p.bundle)) === p.checked.request.device) skipped.push(describe(p, p.record.certificateHash))
    else work.push(p)
  }

  // 2. Certificates for the devices new to the journal, journalled in one append.
  const fresh = work.filter((p) => p.record === undefined)
  const certified: JournalEntry[] = []
  for (const [i, p] of fresh.entries()) {
    const r = p.checked.request
    const { certificate, certificateHash } = await issueDeviceCertificate({
      fleet,
      owner: owner.signer,
      device: { address: r.device, peerId: r.peerId, serial: r.serial, keyStorage: r.keyStorage, hardware: p.checked.hardware },
      ...validity,
      ...(parameters.maxSamples === undefined ? {} : { maxSamples: parameters.maxSamples }),
      ...options,
    })
    certified.push({
      v: 1,
      event: 'certified',
      device: r.device,
      serial: r.serial,
      peerId: r.peerId,
      certificate: certificateHex(certificate),
      certificateHash,
      bundle: p.bundle,
      previous: r.previous,
      at: now,
    })
    onProgress?.({ phase: 'certify', done: i + 1, total: fresh.length })
  }
  await journal.append(certified)
  const recordOf = (p: Planned): DeviceRecord => {
    const record = journal.get(p.checked.request.device)
    if (record === undefined) throw new Error(`journal lost ${p.checked.request.device}`) // cannot happen: appended above
    return record
  }

  // 3. Registration, in batches; devices the registry already holds are skipped by it.
  const transactions: Hex[] = []
  if (work.length > 0) {
    const registration = await registerDevices(connection, {
      owner: owner.account,
      registry,
      devices: work.map((p) => ({ device: p.checked.request.device, certificateHash: recordOf(p).certificateHash })),
      batchSize,
      onProgress: (done, total) => onProgress?.({ phase: 'register', done, total }),
      ...options,
    })
    transactions.push(...registration.receipts.map((r) => r.transactionHash))
  }

  // 4. Rotations: the previous devices are revoked now that their successors are registered.
  const rotations = work.filter((p) => p.checked.request.previous !== null)
  const toRevoke: { previous: Address; by: Address }[] = []
  for (const p of rotations) {
    const previous = p.checked.request.previous as Address
    if ((await statusOf(connection, registry, previous)) === STATUS_REGISTERED) toRevoke.push({ previous, by: p.checked.request.device })
  }
  const revoked: Address[] = []
  for (let start = 0; start < toRevoke.length; start += batchSize) {
    const chunk = toRevoke.slice(start, start + batchSize)
    const receipt = await revokeOnChain(connection, { owner: owner.account, registry, devices: chunk.map((c) => c.previous), ...options })
    transactions.push(receipt.transactionHash)
    await journal.append(chunk.map((c) => ({ v: 1, event: 'revoked', device: c.previous, replacedBy: c.by, at: now }) satisfies JournalEntry))
    revoked.push(...chunk.map((c) => c.previous))
    onProgress?.({ phase: 'revoke', done: start + chunk.length, total: toRevoke.length })
  }
  // A rotation resumed after its revocation was confirmed but before it was journalled.
  const unjournalled = rotations.filter((p) => journal.get(p.checked.request.previous as Address)?.state !== 'revoked' && journal.get(p.checked.request.previous as Address) !== undefined)
  if (unjournalled.length > 0)
    await journal.append(unjournalled.map((p) => ({ v: 1, event: 'revoked', device: p.checked.request.previous as Address, replacedBy: p.checked.request.device, at: now }) satisfies JournalEntry))

  // 5. Bundles, then one journal append marking the devices enrolled.
  const enrolled: EnrolledDevice[] = []
  const done: JournalEntry[] = []
  for (const [i, p] of work.entries()) {
    const record = recordOf(p)
    const r = p.checked.request
    const bundle: DeviceBundleInput = {
      version: 1,
      fleet,
      device: r.device,
      peerId: r.peerId,
      serial: r.serial,
      certificate: record.certificate,
      // Paths inside the bundle's directory are written relative to it (the agent resolves them from there).
      keyStore: bundleKeyStorePaths(p.checked.location.keyStore, dirname(resolve(p.bundle))),
      keyLabel: p.checked.location.keyLabel,
      transportKeyDir: relativeToBundle(p.checked.location.transportKeyDir, dirname(resolve(p.bundle))),
      bootstrap: p.bootstrap,
      sensors: [...(p.input.sensors ?? [])],
      hardware: p.checked.hardware,
      ...(p.input.agent === undefined ? {} : { agent: p.input.agent }),
    }
    await mkdir(dirname(p.bundle), { recursive: true })
    await writeDeviceBundle(p.bundle, bundle)
    done.push({ v: 1, event: 'enrolled', device: r.device, bundle: p.bundle, at: now })
    enrolled.push(describe(p, record.certificateHash))
    onProgress?.({ phase: 'write', done: i + 1, total: work.length })
  }
  await journal.append(done)
  logger.info({ enrolled: enrolled.length, skipped: skipped.length, rejected: rejected.length, revoked: revoked.length }, 'enrolment run done')
  return { enrolled, skipped, revoked, rejected, transactions }
}

/** A rotation's previous device: known to this journal, not replaced by another key, of the same serial. */
function checkRotation(request: EnrolmentRequest, journal: ProvisioningJournal, source: string): void {
  const previous = request.previous as Address
  const record = journal.get(previous)
  if (record === undefined) throw new RotationError(previous, `is not a device this state directory enrolled (${source})`)
  if (record.serial !== request.serial) throw new RotationError(previous, `has serial ${record.serial}, the request (${source}) names ${request.serial}`)
  if (record.replacedBy !== null && !isAddressEqual(record.replacedBy, request.device)) throw new RotationError(previous, `was replaced by ${record.replacedBy} already`)
  if (record.state === 'certified') throw new RotationError(previous, 'its own enrolment has not finished; run it again first')
}

/** The certificate a journal record holds, decoded. */
export const journalCertificate = (record: DeviceRecord) => decodeSigned('DeviceCertificate', hexToBytes(record.certificate))
