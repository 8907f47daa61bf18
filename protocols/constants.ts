// Protocol ids, topic names, EIP-712 domain constants and every size cap of the protocols layer.

/** EIP-712 domain name and version (EIP-712 §"Definition of domainSeparator"). */
export const EIP712_DOMAIN_NAME = 'Counterweight'
export const EIP712_DOMAIN_VERSION = '1'

/** libp2p stream protocol ids. */
export const PROTOCOL_UPDATE = '/counterweight/update/1.0.0'
export const PROTOCOL_MODEL = '/counterweight/model/1.0.0'

/** gossipsub topic names, one set per fleet (fleet id as 0x-prefixed lowercase hex). */
export const TOPIC_PREFIX = 'counterweight'
export const TOPIC_VERSION = '1'
export type TopicKind = 'rounds' | 'models' | 'events'

const KiB = 1024
const MiB = 1024 * KiB

/** Caps on encoded wire messages, checked before a byte is decoded. */
export const MAX_MESSAGE_BYTES = {
  DeviceCertificate: 2 * KiB,
  RoundAnnouncement: 4 * KiB,
  UpdateAttestation: 1 * KiB,
  InferenceAttestation: 1 * KiB,
  Receipt: 1 * KiB,
  // A submission carries an attestation, a certificate and one encoded update.
  UpdateSubmission: 32 * MiB + 4 * KiB,
  ModelUpdate: 32 * MiB,
  // A round record holds up to MAX_RECORD_CONTRIBUTIONS signed attestations and certificates.
  RoundRecord: 16 * MiB,
} as const

/** Most contributions one round record holds. */
export const MAX_RECORD_CONTRIBUTIONS = 10_000

/** Caps on the fields of signed messages. */
export const MAX_PEER_ID_LENGTH = 128
export const MAX_LABEL_LENGTH = 64 // hardware model, key storage kind, serial, strategy, reason
export const MAX_CAPABILITIES = 32
export const MAX_ROUND_PARAMS_LENGTH = 2048
/** A round announcement's selection rule: canonical JSON `{ fraction, max, min }`. */
export const MAX_SELECTION_RULE_LENGTH = 256

/** Caps on updates and named tensors. */
export const MAX_TENSORS = 4096
export const MAX_TENSOR_RANK = 8
export const MAX_TENSOR_NAME_LENGTH = 256
/** 8 Mi float32 elements: 32 MiB dense, the update cap. */
export const MAX_TENSOR_ELEMENTS = 8 * 1024 * 1024

/** Largest integer carried in a `uint64` field. */
export const MAX_UINT64 = 2n ** 64n - 1n

/** Stream protocol for fetching a round record by hash (issue 5); reuses the blob transfer. */
export const PROTOCOL_RECORD = '/counterweight/record/1.0.0'
