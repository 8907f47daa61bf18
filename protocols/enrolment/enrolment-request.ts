// The enrolment request: what a device hands its fleet owner to be enrolled. It names the fleet
// (id, chain, registry), the device's address and libp2p peer id, its serial, where its key lives
// and its hardware profile, and is signed by the device key, which proves possession of it. A key
// rotation names the previous device address too, and the previous key signs the same digest (the
// endorsement).
//
// On the wire it is one canonical JSON document (RFC 8785, canonical-json.ts), UTF-8, at most
// MAX_ENROLMENT_REQUEST_BYTES and without line breaks, so that it travels over any byte stream: a
// file, a CSV cell, a serial console line. The signatures are EIP-712 (the fleet's domain) over
// the `EnrolmentRequest` struct below, in which the two JSON sections are their canonical text.
import { getAddress, hashTypedData, isAddressEqual, isHex, type Address, type Hex } from 'viem'
import { z } from 'zod'
import { EIP712_DOMAIN_NAME, EIP712_DOMAIN_VERSION, MAX_LABEL_LENGTH, MAX_PEER_ID_LENGTH } from '../constants.js'
import type { Signer, SignDigestOptions } from '../crypto/signer.js'
import { recoverSigner } from '../crypto/recover.js'
import { DecodeError, InvalidArgumentError, MessageTooLargeError, SignerMismatchError } from '../errors.js'
import { addressSchema, bytes32Schema, fieldOf } from '../eip712/schemas.js'
import { canonicalJson, type JsonValue } from './canonical-json.js'
import {
  ENROLMENT_REQUEST_TYPE,
  ENROLMENT_REQUEST_VERSION,
  MAX_ENROLMENT_HARDWARE_BYTES,
  MAX_ENROLMENT_LOCATION_BYTES,
  MAX_ENROLMENT_REQUEST_BYTES,
} from './constants.js'

/** EIP-712 struct of the request. Field order is part of the type hash: never reorder. */
export const ENROLMENT_REQUEST_EIP712_TYPES = {
  EnrolmentRequest: [
    { name: 'fleet', type: 'bytes32' },
    { name: 'device', type: 'address' },
    { name: 'peerId', type: 'string' },
    { name: 'serial', type: 'string' },
    { name: 'keyStorage', type: 'string' },
    { name: 'hardware', type: 'string' },
    { name: 'location', type: 'string' },
    { name: 'createdAt', type: 'uint64' },
    { name: 'previous', type: 'address' },
  ],
} as const

const ZERO_ADDRESS: Address = '0x0000000000000000000000000000000000000000'
const TYPE_NAME = 'EnrolmentRequest'

const checksummed = addressSchema.transform((a) => getAddress(a))
const signatureSchema = z.custom<Hex>((v) => typeof v === 'string' && isHex(v, { strict: true }) && v.length === 132, {
  message: 'expected a 65-byte 0x-prefixed hex signature',
})
const jsonObject = z.record(z.string(), z.unknown())
const sized = (max: number, name: string) =>
  jsonObject.superRefine((value, ctx) => {
    let text: string
    try {
      text = canonicalJson(value, name)
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message })
      return
    }
    if (new TextEncoder().encode(text).length > max) ctx.addIssue({ code: 'custom', message: `larger than ${max} bytes as canonical JSON` })
  })

/** What the device states about itself: everything but the signatures. */
export const enrolmentRequestBodySchema = z.strictObject({
  chainId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  registry: checksummed,
  fleet: bytes32Schema.refine((h) => BigInt(h) !== 0n, 'must not be zero'),
  device: checksummed,
  peerId: z.string().min(1).max(MAX_PEER_ID_LENGTH),
  serial: z.string().min(1).max(MAX_LABEL_LENGTH),
  /** The key store kind the device key lives in (`file`, `pkcs11`), as its certificate will say. */
  keyStorage: z.string().min(1).max(MAX_LABEL_LENGTH),
  /** The device's hardware profile (hardware/accelerators); checked in full by the owner. */
  hardware: sized(MAX_ENROLMENT_HARDWARE_BYTES, 'hardware'),
  /** Where the device keeps its key and transport key (no secret); copied into its bundle. */
  location: sized(MAX_ENROLMENT_LOCATION_BYTES, 'location'),
  /** Unix seconds. */
  createdAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** For a key rotation: the device address the new key replaces. */
  previous: checksummed.nullable(),
})

export const enrolmentRequestSchema = enrolmentRequestBodySchema
  .extend({
    type: z.literal(ENROLMENT_REQUEST_TYPE),
    version: z.literal(ENROLMENT_REQUEST_VERSION),
    /** By the device key, over the EIP-712 digest. */
    signature: signatureSchema,
    /** By the previous key, over the same digest; present exactly when `previous` is. */
    endorsement: signatureSchema.nullable(),
  })
  .superRefine((r, ctx) => {
    if ((r.previous === null) !== (r.endorsement === null))
      ctx.addIssue({ code: 'custom', path: ['endorsement'], message: 'must be present exactly when previous is' })
    if (r.previous !== null && isAddressEqual(r.previous, r.device)) ctx.addIssue({ code: 'custom', path: ['previous'], message: 'must differ from device' })
  })

export type EnrolmentRequestBody = Omit<z.output<typeof enrolmentRequestBodySchema>, 'hardware' | 'location' | 'registry' | 'device' | 'previous' | 'fleet'> & {
  registry: Address
  fleet: Hex
  device: Address
  previous: Address | null
  hardware: Record<string, JsonValue>
  location: Record<string, JsonValue>
}

export type EnrolmentRequest = EnrolmentRequestBody & {
  type: typeof ENROLMENT_REQUEST_TYPE
  version: typeof ENROLMENT_REQUEST_VERSION
  signature: Hex
  endorsement: Hex | null
}

/** Validates a request body given by a caller; InvalidArgumentError naming the field. */
export function parseEnrolmentRequestBody(value: unknown): EnrolmentRequestBody {
  const result = enrolmentRequestBodySchema.safeParse(value)
  if (!result.success) {
    const { field, problem } = fieldOf(result.error, 'request')
    throw new InvalidArgumentError(field, problem)
  }
  return result.data as EnrolmentRequestBody
}

/** The EIP-712 digest both signatures are over. */
export function enrolmentRequestDigest(body: EnrolmentRequestBody): Hex {
  const b = parseEnrolmentRequestBody(pickBody(body))
  return hashTypedData({
    domain: { name: EIP712_DOMAIN_NAME, version: EIP712_DOMAIN_VERSION, chainId: b.chainId, verifyingContract: b.registry },
    types: ENROLMENT_REQUEST_EIP712_TYPES,
    primaryType: TYPE_NAME,
    message: {
      fleet: b.fleet,
      device: b.device,
      peerId: b.peerId,
      serial: b.serial,
      keyStorage: b.keyStorage,
      hardware: canonicalJson(b.hardware, 'hardware'),
      location: canonicalJson(b.location, 'location'),
      createdAt: BigInt(b.createdAt),
      previous: b.previous ?? ZERO_ADDRESS,
    },
  })
}

const pickBody = (r: EnrolmentRequestBody): EnrolmentRequestBody => ({
  chainId: r.chainId,
  registry: r.registry,
  fleet: r.fleet,
  device: r.device,
  peerId: r.peerId,
  serial: r.serial,
  keyStorage: r.keyStorage,
  hardware: r.hardware,
  location: r.location,
  createdAt: r.createdAt,
  previous: r.previous,
})

export interface SignEnrolmentRequestParameters extends SignDigestOptions {
  body: EnrolmentRequestBody
  /** The device key: its address must be `body.device`. */
  signer: Signer
  /** For a rotation: the previous key, whose address must be `body.previous`. */
  previousSigner?: Signer
}

/** Signs a request with the device key (and the previous key for a rotation), then re-verifies it. */
export async function signEnrolmentRequest(parameters: SignEnrolmentRequestParameters): Promise<EnrolmentRequest> {
  const { signer, previousSigner, signal } = parameters
  const body = parseEnrolmentRequestBody(pickBody(parameters.body))
  if (!isAddressEqual(signer.address, body.device)) throw new SignerMismatchError(body.device, signer.address)
  if ((previousSigner === undefined) !== (body.previous === null))
    throw new InvalidArgumentError('previousSigner', 'is required exactly when the request names a previous device')
  if (previousSigner !== undefined && body.previous !== null && !isAddressEqual(previousSigner.address, body.previous))
    throw new SignerMismatchError(body.previous, previousSigner.address)
  const digest = enrolmentRequestDigest(body)
  const options = signal === undefined ? {} : { signal }
  const signature = await signer.signDigest(digest, options)
  const endorsement = previousSigner === undefined ? null : await previousSigner.signDigest(digest, options)
  const request: EnrolmentRequest = { type: ENROLMENT_REQUEST_TYPE, version: ENROLMENT_REQUEST_VERSION, ...body, signature, endorsement }
  const verdict = verifyEnrolmentRequest(request)
  if (!verdict.signature) throw new SignerMismatchError(body.device, recoverSigner(digest, signature) ?? 'nothing')
  if (verdict.endorsement === false && body.previous !== null) throw new SignerMismatchError(body.previous, 'another key')
  return request
}

export interface EnrolmentRequestVerdict {
  /** Both signatures are good. */
  valid: boolean
  /** The device key signed the request. */
  signature: boolean
  /** The previous key signed it too; null when the request names no previous device. */
  endorsement: boolean | null
}

/**
 * Checks both signatures. A wrong, forged or high-S signature gives false; a malformed request
 * throws. A request whose content was changed after signing fails here: its digest changes.
 */
export function verifyEnrolmentRequest(request: EnrolmentRequest): EnrolmentRequestVerdict {
  const digest = enrolmentRequestDigest(request)
  const signedBy = (signature: Hex, address: Address): boolean => {
    const recovered = recoverSigner(digest, signature)
    return recovered !== null && isAddressEqual(recovered, address)
  }
  const signature = signedBy(request.signature, request.device)
  const endorsement = request.previous === null || request.endorsement === null ? null : signedBy(request.endorsement, request.previous)
  return { valid: signature && endorsement !== false, signature, endorsement }
}

/** The request's wire form: canonical JSON, UTF-8, one line. */
export function encodeEnrolmentRequest(request: EnrolmentRequest): Uint8Array {
  const parsed = parseRequest(request, (field, problem) => new InvalidArgumentError(field, problem))
  const bytes = new TextEncoder().encode(canonicalJson(parsed, 'request'))
  if (bytes.length > MAX_ENROLMENT_REQUEST_BYTES) throw new MessageTooLargeError(TYPE_NAME, bytes.length, MAX_ENROLMENT_REQUEST_BYTES)
  return bytes
}

const parseRequest = (value: unknown, error: (field: string, problem: string) => Error): EnrolmentRequest => {
  const result = enrolmentRequestSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    const { field, problem } = fieldOf(result.error, 'request')
    // zod names unknown keys in the issue, not in its path.
    const extra = issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? `.${issue.keys[0]}` : ''
    throw error(`${field}${extra}`, problem)
  }
  return result.data as EnrolmentRequest
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d])

/**
 * Decodes a request strictly: size first, then UTF-8, JSON and the schema. Surrounding whitespace
 * (a line ending from a console or a file) is ignored. DecodeError names the offending field;
 * signatures are not checked here (verifyEnrolmentRequest).
 */
export function decodeEnrolmentRequest(input: Uint8Array | string): EnrolmentRequest {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('input', 'expected bytes or a string')
  let start = 0
  let end = bytes.length
  while (start < end && WHITESPACE.has(bytes[start] ?? 0)) start++
  while (end > start && WHITESPACE.has(bytes[end - 1] ?? 0)) end--
  if (end - start > MAX_ENROLMENT_REQUEST_BYTES) throw new MessageTooLargeError(TYPE_NAME, end - start, MAX_ENROLMENT_REQUEST_BYTES)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, end))
  } catch (cause) {
    throw new DecodeError(TYPE_NAME, 'request', 'not UTF-8', { cause })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new DecodeError(TYPE_NAME, 'request', `not JSON (${(cause as Error).message})`, { cause })
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new DecodeError(TYPE_NAME, 'request', 'expected a JSON object')
  const version = (json as { version?: unknown }).version
  if (version !== undefined && version !== ENROLMENT_REQUEST_VERSION)
    throw new DecodeError(TYPE_NAME, 'request.version', `version ${JSON.stringify(version)} is not supported (expected ${ENROLMENT_REQUEST_VERSION})`)
  return parseRequest(json, (field, problem) => new DecodeError(TYPE_NAME, field, problem))
}
