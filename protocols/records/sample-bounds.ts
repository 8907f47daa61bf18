// How many samples a device may claim. An UpdateAttestation's sampleCount is whatever the device
// signs; nothing checks it against the data. So the claim is bounded per device: the fleet owner
// may write a bound into the device's certificate, as the capability `max-samples:<n>`, which the
// owner signs and every round record carries, so that gateways enforce it and auditors check it.
import type { DeviceCertificate } from '../eip712/schemas.js'

export const MAX_SAMPLES_CAPABILITY = 'max-samples:'

/**
 * The smallest `max-samples:<n>` bound in a certificate, or undefined when it names none. A
 * malformed bound (not a decimal integer) counts as 0: the owner signed something unreadable, and
 * the device may claim nothing until it is certified again.
 */
export function certifiedMaxSamples(certificate: Pick<DeviceCertificate, 'capabilities'>): bigint | undefined {
  let bound: bigint | undefined
  for (const capability of certificate.capabilities) {
    if (!capability.startsWith(MAX_SAMPLES_CAPABILITY)) continue
    const text = capability.slice(MAX_SAMPLES_CAPABILITY.length)
    const value = /^(0|[1-9]\d{0,18})$/.test(text) ? BigInt(text) : 0n
    bound = bound === undefined || value < bound ? value : bound
  }
  return bound
}

/** The capability that certifies `maxSamples`. */
export const maxSamplesCapability = (maxSamples: number | bigint): string => `${MAX_SAMPLES_CAPABILITY}${BigInt(maxSamples).toString()}`
