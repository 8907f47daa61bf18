// zod schemas of the signed structs: the one place that says what a well-formed message is.
// Both the EIP-712 signer and the wire decoder validate through these.
import { z } from 'zod'
import type { Address, Hex } from 'viem'
import { isAddress, isHex } from 'viem/utils'
import {
  MAX_CAPABILITIES,
  MAX_LABEL_LENGTH,
  MAX_PEER_ID_LENGTH,
  MAX_ROUND_PARAMS_LENGTH,
  MAX_SELECTION_RULE_LENGTH,
  MAX_UINT64,
} from '../constants.js'
import { InvalidArgumentError } from '../errors.js'
import type { MessageKind } from './types.js'
import { MAX_ROUND_PRIVACY_LENGTH } from '../privacy/constants.js'
import { parseRoundPrivacy } from '../privacy/round-privacy.js'

// The JSON Schema shapes in `.meta` are what docs/configuration.md and docs/schemas/ show for these custom checks.
export const addressSchema = z
  .custom<Address>((v) => typeof v === 'string' && isAddress(v, { strict: false }), {
    message: 'expected a 20-byte 0x-prefixed hex address',
  })
  .meta({ type: 'string', pattern: '^0x[0-9a-fA-F]{40}$', description: 'an Ethereum address (20 bytes, 0x-hex; any letter case, checksummed when written)' })
export const bytes32Schema = z
  .custom<Hex>((v) => typeof v === 'string' && isHex(v, { strict: true }) && v.length === 66, {
    message: 'expected 32 bytes of 0x-prefixed hex',
  })
  .meta({ type: 'string', pattern: '^0x[0-9a-fA-F]{64}$', description: '32 bytes of 0x-hex' })
export const uint64Schema = z.bigint().min(0n).max(MAX_UINT64)
const label = z.string().max(MAX_LABEL_LENGTH)

export const deviceCertificateSchema = z.strictObject({
  device: addressSchema,
  peerId: z.string().min(1).max(MAX_PEER_ID_LENGTH),
  fleet: bytes32Schema,
  hardwareModel: label,
  keyStorage: label.min(1),
  capabilities: z.array(label).max(MAX_CAPABILITIES),
  validFrom: uint64Schema,
  validUntil: uint64Schema,
  serial: label,
})

export const roundAnnouncementSchema = z.strictObject({
  fleet: bytes32Schema,
  round: uint64Schema,
  gateway: addressSchema,
  baseModel: bytes32Schema,
  strategy: label.min(1),
  params: z.string().max(MAX_ROUND_PARAMS_LENGTH),
  deadline: uint64Schema,
  selectionSeed: bytes32Schema,
  selectionRule: z.string().min(1).max(MAX_SELECTION_RULE_LENGTH),
  eligibleBlock: uint64Schema,
  participantsRoot: bytes32Schema,
  privacy: z.string().max(MAX_ROUND_PRIVACY_LENGTH).superRefine((text, ctx) => {
    try {
      parseRoundPrivacy(text)
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) })
    }
  }),
})

export const updateAttestationSchema = z.strictObject({
  fleet: bytes32Schema,
  round: uint64Schema,
  device: addressSchema,
  baseModel: bytes32Schema,
  updateHash: bytes32Schema,
  sampleCount: uint64Schema,
  metricsHash: bytes32Schema,
  time: uint64Schema,
})

export const inferenceAttestationSchema = z.strictObject({
  fleet: bytes32Schema,
  device: addressSchema,
  model: bytes32Schema,
  sequence: uint64Schema,
  inputHash: bytes32Schema,
  outputHash: bytes32Schema,
  time: uint64Schema,
})

export const receiptSchema = z.strictObject({
  fleet: bytes32Schema,
  round: uint64Schema,
  gateway: addressSchema,
  device: addressSchema,
  attestationHash: bytes32Schema,
  accepted: z.boolean(),
  reason: label,
  time: uint64Schema,
})

export const MESSAGE_SCHEMAS = {
  DeviceCertificate: deviceCertificateSchema,
  RoundAnnouncement: roundAnnouncementSchema,
  UpdateAttestation: updateAttestationSchema,
  InferenceAttestation: inferenceAttestationSchema,
  Receipt: receiptSchema,
} as const satisfies Record<MessageKind, z.ZodType>

export type DeviceCertificate = z.infer<typeof deviceCertificateSchema>
export type RoundAnnouncement = z.infer<typeof roundAnnouncementSchema>
export type UpdateAttestation = z.infer<typeof updateAttestationSchema>
export type InferenceAttestation = z.infer<typeof inferenceAttestationSchema>
export type Receipt = z.infer<typeof receiptSchema>

export type MessageOf<K extends MessageKind> = z.infer<(typeof MESSAGE_SCHEMAS)[K]>

/** A message with the 65-byte signature over its EIP-712 digest. */
export interface Signed<K extends MessageKind> {
  message: MessageOf<K>
  signature: Hex
}

/** Names the first offending field, e.g. `message.capabilities.3`. */
export function fieldOf(error: z.ZodError, prefix: string): { field: string; problem: string } {
  const issue = error.issues[0]
  const path = issue === undefined ? [] : issue.path.map(String)
  return { field: [prefix, ...path].join('.'), problem: issue?.message ?? 'invalid' }
}

/** Validates `value` as a `kind` message; throws InvalidArgumentError naming the field. */
export function parseMessage<K extends MessageKind>(kind: K, value: unknown, prefix = 'message'): MessageOf<K> {
  const result = MESSAGE_SCHEMAS[kind].safeParse(value)
  if (!result.success) {
    const { field, problem } = fieldOf(result.error, prefix)
    throw new InvalidArgumentError(field, problem, { details: { kind } })
  }
  return result.data as MessageOf<K>
}
