// Enrolment of devices whose key stores this machine reaches: both sides in one call, for a fleet
// tried on one machine (the demo) and for a bench of boards being set up by one technician. Each
// device's request is made as on the device (createEnrolmentRequest), then all are enrolled as on
// the owner's side (enrolDevices), so the same checks run as for requests that crossed a cable.
import { detectHardware, type HardwareProfile } from '../hardware/index.js'
import { createEnrolmentRequest, type DeviceKeyParameters } from './create-enrolment-request.js'
import { enrolDevices, type DeviceEnrolment, type EnrolDevicesParameters, type EnrolDevicesReturnType } from './enrol-devices.js'
import { loadFleet } from './owner-session.js'

export interface LocalDevice {
  /** The device key's store and label; the key is generated there when absent. */
  key: DeviceKeyParameters
  /** The directory of the device's libp2p transport key (created when absent). */
  transportKeyDir: string
  serial: string
  /** Where to write its bundle (device.json). */
  bundle: string
  sensors?: DeviceEnrolment['sensors']
  /** Its bootstrap multiaddrs; the run's `bootstrap` when absent. */
  bootstrap?: readonly string[]
  /** The agent daemon's settings, placed in the bundle. */
  agent?: Record<string, unknown>
  /** Its hardware profile; the run's `hardware` when absent. */
  hardware?: HardwareProfile
}

export interface ProvisionLocalDevicesParameters extends Omit<EnrolDevicesParameters, 'devices'> {
  devices: readonly LocalDevice[]
  /** The hardware profile of devices that give none; this machine's, detected once, when absent. */
  hardware?: HardwareProfile
}

export type ProvisionLocalDevicesReturnType = EnrolDevicesReturnType

export async function provisionLocalDevices(parameters: ProvisionLocalDevicesParameters): Promise<ProvisionLocalDevicesReturnType> {
  const { devices, hardware: shared, ...rest } = parameters
  const fleet = await loadFleet(parameters.fleet)
  const needsDetection = shared === undefined && devices.some((d) => d.hardware === undefined)
  const detected = needsDetection ? (await detectHardware(parameters.signal === undefined ? {} : { signal: parameters.signal })).profile : shared
  const enrolments: DeviceEnrolment[] = []
  for (const d of devices) {
    const hardware = d.hardware ?? detected
    const { encoded } = await createEnrolmentRequest({
      fleet,
      key: d.key,
      transportKeyDir: d.transportKeyDir,
      serial: d.serial,
      ...(hardware === undefined ? {} : { hardware }),
      ...(parameters.now === undefined ? {} : { now: parameters.now }),
      ...(parameters.env === undefined ? {} : { env: parameters.env }),
      ...(parameters.logger === undefined ? {} : { logger: parameters.logger }),
      ...(parameters.signal === undefined ? {} : { signal: parameters.signal }),
    })
    enrolments.push({
      request: encoded,
      source: d.serial,
      bundle: d.bundle,
      ...(d.sensors === undefined ? {} : { sensors: d.sensors }),
      ...(d.bootstrap === undefined ? {} : { bootstrap: d.bootstrap }),
      ...(d.agent === undefined ? {} : { agent: d.agent }),
    })
  }
  return enrolDevices({ ...rest, fleet, devices: enrolments })
}
