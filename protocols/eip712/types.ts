// The EIP-712 structs every party signs and checks (EIP-712 §"Definition of typed structured
// data"). Field order is part of the type hash: never reorder, only add a new version.

export const EIP712_TYPES = {
  DeviceCertificate: [
    { name: 'device', type: 'address' },
    { name: 'peerId', type: 'string' },
    { name: 'fleet', type: 'bytes32' },
    { name: 'hardwareModel', type: 'string' },
    { name: 'keyStorage', type: 'string' },
    { name: 'capabilities', type: 'string[]' },
    { name: 'validFrom', type: 'uint64' },
    { name: 'validUntil', type: 'uint64' },
    { name: 'serial', type: 'string' },
  ],
  RoundAnnouncement: [
    { name: 'fleet', type: 'bytes32' },
    { name: 'round', type: 'uint64' },
    { name: 'gateway', type: 'address' },
    { name: 'baseModel', type: 'bytes32' },
    { name: 'strategy', type: 'string' },
    { name: 'params', type: 'string' },
    { name: 'deadline', type: 'uint64' },
    // The selection's commitment (protocols/records/selection.ts): seed, rule, the block whose
    // registered devices were eligible, and the root of the selected set.
    { name: 'selectionSeed', type: 'bytes32' },
    { name: 'selectionRule', type: 'string' },
    { name: 'eligibleBlock', type: 'uint64' },
    { name: 'participantsRoot', type: 'bytes32' },
    // The differential privacy the round runs under (protocols/privacy/round-privacy.ts): empty
    // for none, else canonical JSON of mode, clip norm, noise multiplier, sample rate and δ.
    { name: 'privacy', type: 'string' },
  ],
  UpdateAttestation: [
    { name: 'fleet', type: 'bytes32' },
    { name: 'round', type: 'uint64' },
    { name: 'device', type: 'address' },
    { name: 'baseModel', type: 'bytes32' },
    { name: 'updateHash', type: 'bytes32' },
    { name: 'sampleCount', type: 'uint64' },
    { name: 'metricsHash', type: 'bytes32' },
    { name: 'time', type: 'uint64' },
  ],
  InferenceAttestation: [
    { name: 'fleet', type: 'bytes32' },
    { name: 'device', type: 'address' },
    { name: 'model', type: 'bytes32' },
    { name: 'sequence', type: 'uint64' },
    { name: 'inputHash', type: 'bytes32' },
    { name: 'outputHash', type: 'bytes32' },
    { name: 'time', type: 'uint64' },
  ],
  Receipt: [
    { name: 'fleet', type: 'bytes32' },
    { name: 'round', type: 'uint64' },
    { name: 'gateway', type: 'address' },
    { name: 'device', type: 'address' },
    { name: 'attestationHash', type: 'bytes32' },
    { name: 'accepted', type: 'bool' },
    { name: 'reason', type: 'string' },
    { name: 'time', type: 'uint64' },
  ],
} as const

export type MessageKind = keyof typeof EIP712_TYPES

export const MESSAGE_KINDS = Object.keys(EIP712_TYPES) as MessageKind[]

/**
 * The field of each struct that names its signer. A certificate is signed by the fleet owner,
 * who is not in the struct, so its verifier is told the owner.
 */
export const SIGNER_FIELD = {
  DeviceCertificate: undefined,
  RoundAnnouncement: 'gateway',
  UpdateAttestation: 'device',
  InferenceAttestation: 'device',
  Receipt: 'gateway',
} as const satisfies Record<MessageKind, string | undefined>
