// The owner's checks of an enrolment request, each failure its own typed error naming the
// request's source: it decodes (EnrolmentRequestFormatError), it is signed by its device key and,
// for a rotation, endorsed by the previous key (EnrolmentSignatureError), it is for this fleet
// (EnrolmentFleetMismatchError), it is fresh (EnrolmentRequestStaleError), and its hardware
// profile and key location have the shapes the bundle needs (EnrolmentRequestFormatError).
import { z } from 'zod'
import {
  BaseError,
  decodeEnrolmentRequest,
  InvalidArgumentError,
  type EnrolmentRequest,
  type FleetFile,
  verifyEnrolmentRequest,
} from '../protocols/index.js'
import { HardwareProfileError, keyStoreConfigSchema, parseHardwareProfile, type HardwareProfile, type KeyStoreConfig } from '../hardware/index.js'
import { REQUEST_MAX_SKEW_SECONDS } from './constants.js'
import {
  EnrolmentFleetMismatchError,
  EnrolmentRequestFormatError,
  EnrolmentRequestStaleError,
  EnrolmentSignatureError,
} from './errors.js'

/** The request's `location` section: where the device keeps its key and its transport key. */
export const requestLocationSchema = z.strictObject({
  keyStore: keyStoreConfigSchema,
  keyLabel: z.string().min(1).max(64),
  transportKeyDir: z.string().min(1).max(4096),
})

export type RequestLocation = { keyStore: KeyStoreConfig; keyLabel: string; transportKeyDir: string }

/** A request the owner has decoded and whose signatures are good. */
export interface CheckedRequest {
  request: EnrolmentRequest
  hardware: HardwareProfile
  location: RequestLocation
}

/** Decodes a request given as bytes, text or an object; EnrolmentRequestFormatError naming the field. */
export function decodeRequest(input: EnrolmentRequest | Uint8Array | string, source: string): EnrolmentRequest {
  try {
    return decodeEnrolmentRequest(typeof input === 'string' || input instanceof Uint8Array ? input : JSON.stringify(input))
  } catch (err) {
    if (err instanceof BaseError) {
      const field = typeof err.details.field === 'string' ? err.details.field : 'request'
      throw new EnrolmentRequestFormatError(source, field, err.message, { cause: err })
    }
    throw err
  }
}

/** Signatures and content shapes: everything that does not depend on the fleet or the clock. */
export function checkRequestContent(request: EnrolmentRequest, source: string): CheckedRequest {
  const verdict = verifyEnrolmentRequest(request)
  if (!verdict.signature) throw new EnrolmentSignatureError(source, request.device, 'signature')
  if (verdict.endorsement === false) throw new EnrolmentSignatureError(source, request.device, 'endorsement')
  let hardware: HardwareProfile
  try {
    hardware = parseHardwareProfile(request.hardware)
  } catch (err) {
    if (err instanceof HardwareProfileError || err instanceof InvalidArgumentError) {
      const field = String(err.details.field ?? 'profile').replace(/^profile/, 'hardware')
      throw new EnrolmentRequestFormatError(source, field, err.message, { cause: err })
    }
    throw err
  }
  const location = requestLocationSchema.safeParse(request.location)
  if (!location.success) {
    const issue = location.error.issues[0]
    throw new EnrolmentRequestFormatError(source, ['location', ...(issue?.path ?? []).map(String)].join('.'), issue?.message ?? 'invalid')
  }
  if (location.data.keyStore.kind !== request.keyStorage)
    throw new EnrolmentRequestFormatError(source, 'keyStorage', `says ${request.keyStorage}, the key store named in location is ${location.data.keyStore.kind}`)
  return { request, hardware, location: location.data }
}

/** The request is for this fleet: fleet id, chain and registry. */
export function checkRequestFleet(request: EnrolmentRequest, fleet: FleetFile, source: string): void {
  if (request.fleet.toLowerCase() !== fleet.fleet.toLowerCase()) throw new EnrolmentFleetMismatchError(source, 'fleet', request.fleet, fleet.fleet)
  if (request.chainId !== fleet.chain.chainId) throw new EnrolmentFleetMismatchError(source, 'chainId', String(request.chainId), String(fleet.chain.chainId))
  if (request.registry.toLowerCase() !== fleet.contracts.registry.toLowerCase())
    throw new EnrolmentFleetMismatchError(source, 'registry', request.registry, fleet.contracts.registry)
}

/** The request was made at most `maxAgeSeconds` ago and not ahead of the owner's clock (beyond the skew). */
export function checkRequestFreshness(request: EnrolmentRequest, now: number, maxAgeSeconds: number, source: string): void {
  if (request.createdAt + maxAgeSeconds < now || request.createdAt > now + REQUEST_MAX_SKEW_SECONDS)
    throw new EnrolmentRequestStaleError(source, request.createdAt, now, maxAgeSeconds)
}
