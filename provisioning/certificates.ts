// DeviceCertificates: issuing one for a verified enrolment request (signed by the fleet owner and
// re-verified at once), and checking one, from a bundle or the journal, against its fleet and the
// clock, with a typed error for each way it can fail.
import { getAddress, isAddressEqual, type Hex } from 'viem'
import {
  hashMessage,
  InvalidArgumentError,
  MAX_CAPABILITIES,
  MAX_LABEL_LENGTH,
  maxSamplesCapability,
  signDeviceCertificate,
  verifyDeviceCertificate,
  type DeviceCertificate,
  type FleetFile,
  type Signed,
  type Signer,
} from '../protocols/index.js'
import { certificateOf, executionProvidersFor, readDeviceBundle, type DeviceBundle, type HardwareProfile } from '../hardware/index.js'
import { CertificateExpiredError, CertificateInvalidError } from './errors.js'

export interface IssueDeviceCertificateParameters {
  fleet: FleetFile
  owner: Signer
  device: { address: Hex; peerId: string; serial: string; keyStorage: string; hardware: HardwareProfile }
  validFrom: number
  validUntil: number
  /** The most samples the device may claim in an update, certified as `max-samples:<n>` (docs/scoring.md); none when absent. */
  maxSamples?: number
  signal?: AbortSignal
}

export interface IssuedCertificate {
  certificate: Signed<'DeviceCertificate'>
  /** Its EIP-712 digest: what the registry stores for the device. */
  certificateHash: Hex
}

/** What a certificate says of a board: its model (or kind), at most MAX_LABEL_LENGTH characters. */
export const hardwareModelOf = (profile: HardwareProfile): string => (profile.board.model ?? profile.board.kind).slice(0, MAX_LABEL_LENGTH)

/** The certificate's capabilities: the ONNX Runtime execution providers the board can use, best first. */
export const capabilitiesOf = (profile: HardwareProfile): string[] => executionProvidersFor(profile).slice(0, MAX_CAPABILITIES)

export async function issueDeviceCertificate(parameters: IssueDeviceCertificateParameters): Promise<IssuedCertificate> {
  const { fleet, owner, device, maxSamples } = parameters
  if (maxSamples !== undefined && !(Number.isSafeInteger(maxSamples) && maxSamples >= 1)) throw new InvalidArgumentError('maxSamples', 'must be a positive integer')
  const capabilities = capabilitiesOf(device.hardware)
  const message: DeviceCertificate = {
    device: getAddress(device.address),
    peerId: device.peerId,
    fleet: fleet.fleet,
    hardwareModel: hardwareModelOf(device.hardware),
    keyStorage: device.keyStorage,
    // The sample bound takes one of the MAX_CAPABILITIES places, ahead of the least preferred provider.
    capabilities: maxSamples === undefined ? capabilities : [...capabilities.slice(0, MAX_CAPABILITIES - 1), maxSamplesCapability(maxSamples)],
    validFrom: BigInt(parameters.validFrom),
    validUntil: BigInt(parameters.validUntil),
    serial: device.serial,
  }
  const certificate = await signDeviceCertificate({ domain: fleet.domain, signer: owner, message, ...(parameters.signal === undefined ? {} : { signal: parameters.signal }) })
  // Re-verify our own signature before anything depends on it (a key store that signs wrongly fails here).
  if (!verifyDeviceCertificate({ domain: fleet.domain, message, signature: certificate.signature, signer: fleet.owner }))
    throw new CertificateInvalidError(message.device, 'the owner key produced a signature that does not verify')
  return { certificate, certificateHash: hashMessage('DeviceCertificate', fleet.domain, message) }
}

export interface CheckDeviceCertificateParameters {
  fleet: FleetFile
  certificate: Signed<'DeviceCertificate'>
  /** Unix seconds; now when absent. */
  now?: number
}

/**
 * Throws CertificateInvalidError when the certificate is not for this fleet or not signed by its
 * owner, CertificateExpiredError when it is outside its validity window; returns its hash.
 */
export function checkDeviceCertificate({ fleet, certificate, now = Math.floor(Date.now() / 1000) }: CheckDeviceCertificateParameters): Hex {
  const m = certificate.message
  if (m.fleet.toLowerCase() !== fleet.fleet.toLowerCase()) throw new CertificateInvalidError(m.device, `it is for fleet ${m.fleet}, not ${fleet.fleet}`)
  if (!verifyDeviceCertificate({ domain: fleet.domain, message: m, signature: certificate.signature, signer: fleet.owner }))
    throw new CertificateInvalidError(m.device, `it is not signed by the fleet owner ${fleet.owner}`)
  const t = BigInt(now)
  if (t < m.validFrom || t > m.validUntil) throw new CertificateExpiredError(m.device, m.validFrom, m.validUntil, t)
  return hashMessage('DeviceCertificate', fleet.domain, m)
}

export interface VerifyDeviceBundleParameters {
  /** The bundle, or the path of its device.json. */
  bundle: string | DeviceBundle
  /** The fleet it must belong to; the bundle's own copy when absent. */
  fleet?: FleetFile
  now?: number
}

export interface VerifyDeviceBundleReturnType {
  bundle: DeviceBundle
  certificate: Signed<'DeviceCertificate'>
  certificateHash: Hex
}

/** Reads a device bundle and checks its certificate (CertificateInvalidError, CertificateExpiredError). */
export async function verifyDeviceBundle(parameters: VerifyDeviceBundleParameters): Promise<VerifyDeviceBundleReturnType> {
  const bundle = typeof parameters.bundle === 'string' ? await readDeviceBundle(parameters.bundle) : parameters.bundle
  const fleet = parameters.fleet ?? bundle.fleet
  if (parameters.fleet !== undefined && (bundle.fleet.fleet.toLowerCase() !== fleet.fleet.toLowerCase() || !isAddressEqual(bundle.fleet.owner, fleet.owner)))
    throw new CertificateInvalidError(bundle.device, `the bundle is for fleet ${bundle.fleet.fleet} (owner ${bundle.fleet.owner})`)
  const certificate = certificateOf(bundle)
  const certificateHash = checkDeviceCertificate({ fleet, certificate, ...(parameters.now === undefined ? {} : { now: parameters.now }) })
  return { bundle, certificate, certificateHash }
}
