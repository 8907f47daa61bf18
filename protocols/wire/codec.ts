// Strict binary codec for every message that crosses the mesh (protobuf through protons).
// Decoding checks the size cap before reading a byte, refuses anything that does not re-encode
// to the same bytes (unknown, repeated or out-of-order fields, non-minimal varints), then
// validates every field; each failure is a DecodeError naming the field.
import type { Hex } from 'viem'
import { bytesToHex, getAddress, hexToBytes } from 'viem/utils'
import { MAX_CAPABILITIES, MAX_MESSAGE_BYTES } from '../constants.js'
import { BaseError, DecodeError, MessageTooLargeError } from '../errors.js'
import { parseMessage, type Signed } from '../eip712/schemas.js'
import { EIP712_TYPES, type MessageKind } from '../eip712/types.js'
import { SIGNATURE_LENGTH } from '../crypto/signature.js'
import * as proto from './proto/messages.js'

export type WireObject = Record<string, unknown>

/** The shape every protons codec has, seen without its per-message types. */
interface WireCodec {
  encode(obj: WireObject): Uint8Array
  decode(buf: Uint8Array, opts?: { limits?: Record<string, unknown> }): WireObject
}

// protons generates one namespace per message; their per-message parameter types differ, so
// they are seen here through the common shape above (every field is checked after decoding).
const WIRE = {
  DeviceCertificate: proto.DeviceCertificate,
  RoundAnnouncement: proto.RoundAnnouncement,
  UpdateAttestation: proto.UpdateAttestation,
  InferenceAttestation: proto.InferenceAttestation,
  Receipt: proto.Receipt,
} as unknown as Record<MessageKind, WireCodec>

const DECODE_LIMITS: Partial<Record<MessageKind, Record<string, number>>> = {
  DeviceCertificate: { capabilities: MAX_CAPABILITIES },
}

const BYTE_LENGTHS = { address: 20, bytes32: 32 } as const

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0

export function checkSize(type: keyof typeof MAX_MESSAGE_BYTES, bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(type, 'bytes', 'expected a Uint8Array')
  const max = MAX_MESSAGE_BYTES[type]
  if (bytes.length > max) throw new MessageTooLargeError(type, bytes.length, max)
}

/** Runs a protons decode, turning its untyped errors into DecodeError. */
export function decodeProtobuf<T>(type: string, bytes: Uint8Array, decode: () => T): T {
  try {
    return decode()
  } catch (err) {
    if (err instanceof BaseError) throw err
    const reason = err instanceof Error ? err.message : String(err)
    // protons names the field only in its repeated-field limit errors: `repeated field "x" had…`.
    const field = /field "(\w+)"/.exec(reason)?.[1] ?? 'bytes'
    throw new DecodeError(type, field, `malformed protobuf (${reason})`, { cause: err })
  }
}

/** Refuses bytes that are not the one canonical encoding of what they decode to. */
export function requireCanonical(type: string, bytes: Uint8Array, reencoded: Uint8Array): void {
  if (sameBytes(bytes, reencoded)) return
  let at = 0
  while (at < bytes.length && bytes[at] === reencoded[at]) at++
  throw notCanonical(type, at)
}

/** The key of a length-delimited field (wire type 2) and its length, as protobuf varints. */
export function lengthDelimitedHeader(field: number, length: number): Uint8Array {
  const out: number[] = []
  for (let v of [field * 8 + 2, length]) {
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    out.push(v)
  }
  return Uint8Array.from(out)
}

/**
 * Refuses bytes that are not the concatenation of `parts`: the canonical encoding, assembled from
 * re-encoded small fields and the decoded large `bytes` fields themselves (with their headers
 * from lengthDelimitedHeader). A part that is the very view of `bytes` at the place it belongs is
 * equal without being read, so checking that a message is canonical neither copies nor compares
 * its large payloads.
 */
export function requireCanonicalParts(type: string, bytes: Uint8Array, parts: readonly Uint8Array[]): void {
  let at = 0
  for (const part of parts) {
    const end = at + part.length
    const inPlace = part.buffer === bytes.buffer && part.byteOffset === bytes.byteOffset + at
    if (!inPlace && (end > bytes.length || Buffer.compare(bytes.subarray(at, end), part) !== 0)) {
      let offset = 0
      while (at + offset < bytes.length && offset < part.length && bytes[at + offset] === part[offset]) offset++
      throw notCanonical(type, at + offset)
    }
    at = end
  }
  if (at !== bytes.length) throw notCanonical(type, at)
}

const notCanonical = (type: string, offset: number) =>
  new DecodeError(type, 'bytes', `not the canonical encoding (differs at byte ${offset})`, { details: { offset } })

/** A validated signed message as its protons wire object (addresses and hashes as raw bytes). */
export function toWireSigned<K extends MessageKind>(kind: K, signed: Signed<K>): WireObject {
  const message = parseMessage(kind, signed.message)
  const wire: WireObject = {}
  for (const { name, type } of EIP712_TYPES[kind]) {
    const value = (message as Record<string, unknown>)[name]
    wire[name] = type === 'address' || type === 'bytes32' ? hexToBytes(value as Hex) : value
  }
  wire.signature = hexToBytes(signed.signature)
  return wire
}

/** A decoded protons wire object as a validated signed message; DecodeError names a bad field. */
export function fromWireSigned<K extends MessageKind>(kind: K, wire: WireObject): Signed<K> {
  const message: WireObject = {}
  for (const { name, type } of EIP712_TYPES[kind]) {
    const value = wire[name]
    if (type === 'address' || type === 'bytes32') {
      const bytes = value as Uint8Array
      if (bytes.length !== BYTE_LENGTHS[type])
        throw new DecodeError(kind, name, `expected ${BYTE_LENGTHS[type]} bytes, got ${bytes.length}`)
      message[name] = type === 'address' ? getAddress(bytesToHex(bytes)) : bytesToHex(bytes)
    } else {
      message[name] = value
    }
  }
  const signature = wire.signature as Uint8Array
  if (signature.length !== SIGNATURE_LENGTH)
    throw new DecodeError(kind, 'signature', `expected ${SIGNATURE_LENGTH} bytes, got ${signature.length}`)
  try {
    return { message: parseMessage(kind, message), signature: bytesToHex(signature) }
  } catch (err) {
    const field = err instanceof BaseError ? String(err.details.field ?? 'message') : 'message'
    throw new DecodeError(kind, field.replace(/^message\./, ''), err instanceof Error ? err.message : 'invalid', { cause: err })
  }
}

/** Encodes a signed message; the message is validated first. */
export function encodeSigned<K extends MessageKind>(kind: K, signed: Signed<K>): Uint8Array {
  const bytes = WIRE[kind].encode(toWireSigned(kind, signed))
  checkSize(kind, bytes)
  return bytes
}

/** Decodes a signed message strictly. The signature is *not* checked here: call verifyMessage. */
export function decodeSigned<K extends MessageKind>(kind: K, bytes: Uint8Array): Signed<K> {
  checkSize(kind, bytes)
  const codec = WIRE[kind]
  const limits = DECODE_LIMITS[kind]
  const wire = decodeProtobuf(kind, bytes, () => codec.decode(bytes, limits === undefined ? {} : { limits }))
  requireCanonical(kind, bytes, codec.encode(wire))
  return fromWireSigned(kind, wire)
}

/** What a device sends on /counterweight/update/1.0.0. */
export interface UpdateSubmission {
  attestation: Signed<'UpdateAttestation'>
  certificate: Signed<'DeviceCertificate'>
  /** The encoded ModelUpdate (see protocols/tensors); decoded only after the signature checks. */
  update: Uint8Array
}

export function encodeSubmission(submission: UpdateSubmission): Uint8Array {
  const bytes = proto.UpdateSubmission.encode({
    attestation: toWireSigned('UpdateAttestation', submission.attestation) as unknown as proto.UpdateAttestation,
    certificate: toWireSigned('DeviceCertificate', submission.certificate) as unknown as proto.DeviceCertificate,
    // protons types bytes as Uint8Array<ArrayBuffer>; it only reads them.
    update: submission.update as Uint8Array<ArrayBuffer>,
  })
  checkSize('UpdateSubmission', bytes)
  return bytes
}

/** Field number of UpdateSubmission.update (proto/messages.proto). */
const SUBMISSION_UPDATE_FIELD = 3

/**
 * Decodes a submission strictly. Its `update` is a view of `bytes`, not a copy: decodeUpdate
 * checks it, and copies what it keeps.
 */
export function decodeSubmission(bytes: Uint8Array): UpdateSubmission {
  const type = 'UpdateSubmission'
  checkSize(type, bytes)
  const wire = decodeProtobuf(type, bytes, () =>
    proto.UpdateSubmission.decode(bytes, { limits: { certificate: { capabilities: MAX_CAPABILITIES } } }),
  )
  // The canonical encoding is the two signed messages, then the update (field 3) when not empty:
  // the update's bytes are checked by where they lie, not copied and compared.
  const update = wire.update
  requireCanonicalParts(type, bytes, [
    proto.UpdateSubmission.encode({ ...wire, update: new Uint8Array(0) }),
    ...(update.length > 0 ? [lengthDelimitedHeader(SUBMISSION_UPDATE_FIELD, update.length), update] : []),
  ])
  if (wire.attestation === undefined) throw new DecodeError(type, 'attestation', 'missing')
  if (wire.certificate === undefined) throw new DecodeError(type, 'certificate', 'missing')
  const nested = <K extends MessageKind>(kind: K, value: WireObject): Signed<K> => {
    checkSize(kind, WIRE[kind].encode(value))
    return fromWireSigned(kind, value)
  }
  return {
    attestation: nested('UpdateAttestation', wire.attestation as unknown as WireObject),
    certificate: nested('DeviceCertificate', wire.certificate as unknown as WireObject),
    update,
  }
}
