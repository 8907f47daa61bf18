// Key rotation, the owner's side: a rotation request (made on the device by
// createEnrolmentRequest with `previous`: signed by the new key, endorsed by the old one) is
// checked like any request, plus the endorsement and the previous device's standing; the owner
// certifies the new key, registers it, revokes the old device in the same run, and writes the new
// bundle over the old one (or where asked). Gateways refuse the old key from then on.
import { isAddressEqual, type Address } from 'viem'
import { certificateOf, readDeviceBundle } from '../hardware/index.js'
import { certifiedMaxSamples, type EnrolmentRequest } from '../protocols/index.js'
import { decodeRequest } from './check-request.js'
import { enrolDevices, type DeviceEnrolment, type EnrolDevicesParameters, type EnrolledDevice } from './enrol-devices.js'
import { RotationError } from './errors.js'
import { ProvisioningJournal } from './journal.js'

export interface RotateDeviceKeyParameters extends Omit<EnrolDevicesParameters, 'devices' | 'skipInvalid' | 'bootstrap'> {
  /** The rotation request: decoded, or its wire form. */
  request: EnrolmentRequest | Uint8Array | string
  source?: string
  /** Where to write the new bundle; where the previous device's bundle is when absent. */
  bundle?: string
  sensors?: DeviceEnrolment['sensors']
  bootstrap?: DeviceEnrolment['bootstrap']
  agent?: DeviceEnrolment['agent']
}

export interface RotateDeviceKeyReturnType {
  device: EnrolledDevice
  previous: Address
  /** false when a run before this one completed the rotation: nothing was done. */
  changed: boolean
  transactions: `0x${string}`[]
}

export async function rotateDeviceKey(parameters: RotateDeviceKeyParameters): Promise<RotateDeviceKeyReturnType> {
  const source = parameters.source ?? 'request'
  const request = decodeRequest(parameters.request, source)
  const previous = request.previous
  if (previous === null) throw new RotationError('(none)', `the request (${source}) names no previous device: enrol it instead`)
  let bundle = parameters.bundle
  let { sensors, bootstrap, agent, maxSamples } = parameters
  if (bundle === undefined) {
    // The previous device's bundle path, from the journal (read under its lock, then released for the run).
    const journal = await ProvisioningJournal.open(parameters.stateDir)
    try {
      const record = journal.get(previous)
      if (record === undefined) throw new RotationError(previous, `is not a device this state directory enrolled (${source})`)
      bundle = record.bundle
    } finally {
      await journal.close()
    }
    // The previous bundle's sensors, bootstrap and agent settings carry over unless given anew.
    const old = await readDeviceBundle(bundle).catch(() => undefined)
    if (old !== undefined && isAddressEqual(old.device, previous)) {
      sensors ??= old.sensors
      bootstrap ??= old.bootstrap
      agent ??= old.agent
      // So does the owner's sample bound (docs/scoring.md): a new key is the same device.
      const bound = certifiedMaxSamples(certificateOf(old, bundle).message)
      if (bound !== undefined && bound <= BigInt(Number.MAX_SAFE_INTEGER)) maxSamples ??= Math.max(1, Number(bound))
    }
  }
  const { request: _request, source: _source, bundle: _bundle, sensors: _sensors, bootstrap: _bootstrap, agent: _agent, maxSamples: _maxSamples, ...rest } = parameters
  const result = await enrolDevices({
    ...rest,
    ...(maxSamples === undefined ? {} : { maxSamples }),
    devices: [{ request, source, bundle, ...(sensors === undefined ? {} : { sensors }), ...(bootstrap === undefined ? {} : { bootstrap }), ...(agent === undefined ? {} : { agent }) }],
  })
  const device = result.enrolled[0] ?? result.skipped[0]
  if (device === undefined) throw new RotationError(previous, 'was not rotated') // enrolDevices throws its own error first
  return { device, previous, changed: result.enrolled.length > 0, transactions: result.transactions }
}
