// Public API of provisioning/: fleets, enrolment requests and certificates, bulk enrolment,
// revocation, key rotation and the device listing.
export * from './constants.js'
export * from './errors.js'
export type { ProvisioningPhase, ProvisioningProgress, ProgressListener } from './progress.js'
export type { OwnerKeyParameters, ProvisioningOptions } from './owner-session.js'
export { checkGatewayMultiaddrs, createFleet, type CreateFleetParameters, type CreateFleetReturnType, type FleetGatewayParameters } from './create-fleet.js'
export { setFleetGateway, type SetFleetGatewayParameters, type SetFleetGatewayReturnType } from './set-gateway.js'
export {
  createEnrolmentRequest,
  type CreateEnrolmentRequestParameters,
  type CreateEnrolmentRequestReturnType,
  type DeviceKeyParameters,
} from './create-enrolment-request.js'
export {
  enrolDevices,
  type DeviceEnrolment,
  type EnrolDevicesParameters,
  type EnrolDevicesReturnType,
  type EnrolledDevice,
  type RejectedEnrolment,
  type SensorSettings,
} from './enrol-devices.js'
export { enrolFromCsv, type CsvRejection, type EnrolFromCsvParameters, type EnrolFromCsvReturnType } from './enrol-from-csv.js'
export {
  provisionLocalDevices,
  type LocalDevice,
  type ProvisionLocalDevicesParameters,
  type ProvisionLocalDevicesReturnType,
} from './provision-local-devices.js'
export { revokeDevices, type RevokeDevicesParameters, type RevokeDevicesReturnType } from './revoke-devices.js'
export { rotateDeviceKey, type RotateDeviceKeyParameters, type RotateDeviceKeyReturnType } from './rotate-device-key.js'
export { listDevices, type DeviceListing, type DeviceStatus, type ListDevicesParameters, type ListDevicesReturnType } from './list-devices.js'
export {
  checkDeviceCertificate,
  verifyDeviceBundle,
  type CheckDeviceCertificateParameters,
  type VerifyDeviceBundleParameters,
  type VerifyDeviceBundleReturnType,
} from './certificates.js'
export { readKeyStoreConfig, resolveKeyStorePaths } from './key-stores.js'
export { readJournal, foldJournal, type DeviceRecord, type DeviceState } from './journal.js'
