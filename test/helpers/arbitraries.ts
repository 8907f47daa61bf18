// fast-check arbitraries for every protocols type, shared by the property and cross-check tests.
import fc from 'fast-check'
import { bytesToHex, getAddress, type Address, type Hex } from 'viem'
import {
  MAX_CAPABILITIES,
  MAX_LABEL_LENGTH,
  MAX_ROUND_PARAMS_LENGTH,
  MAX_UINT64,
  SIGNER_FIELD,
  encodeRoundPrivacy,
  fleetDomain,
  type FleetDomain,
  type MessageKind,
  type MessageOf,
} from '../../protocols/index.js'

export const bytes32 = (): fc.Arbitrary<Hex> => fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b))
export const address = (): fc.Arbitrary<Address> =>
  fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(bytesToHex(b)))
export const uint64 = (): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: MAX_UINT64 })
// Full Unicode, so EIP-712 string hashing is exercised beyond ASCII.
export const label = (): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', maxLength: 16 }).filter((s) => s.length <= MAX_LABEL_LENGTH)
const nonEmptyLabel = () => label().filter((s) => s.length > 0)

export const domain = (): fc.Arbitrary<FleetDomain> =>
  fc.record({ chainId: fc.integer({ min: 1, max: 2 ** 40 }), verifyingContract: address() }).map((d) => fleetDomain(d))

export const MESSAGE_ARBITRARIES: { [K in MessageKind]: () => fc.Arbitrary<MessageOf<K>> } = {
  DeviceCertificate: () =>
    fc.record({
      device: address(),
      peerId: fc.stringMatching(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/),
      fleet: bytes32(),
      hardwareModel: label(),
      keyStorage: nonEmptyLabel(),
      capabilities: fc.array(label(), { maxLength: Math.min(MAX_CAPABILITIES, 6) }),
      validFrom: uint64(),
      validUntil: uint64(),
      serial: label(),
    }),
  RoundAnnouncement: () =>
    fc.record({
      fleet: bytes32(),
      round: uint64(),
      gateway: address(),
      baseModel: bytes32(),
      strategy: nonEmptyLabel(),
      params: fc.json({ maxDepth: 2 }).filter((s) => s.length <= MAX_ROUND_PARAMS_LENGTH),
      deadline: uint64(),
      selectionSeed: bytes32(),
      selectionRule: nonEmptyLabel(),
      eligibleBlock: uint64(),
      participantsRoot: bytes32(),
      privacy: fc.oneof(
        { weight: 1, arbitrary: fc.constant('') },
        {
          weight: 3,
          arbitrary: fc
            .record({
              mode: fc.constantFrom('device' as const, 'central' as const),
              clipNorm: fc.double({ min: 0.001, max: 100, noNaN: true }),
              noiseMultiplier: fc.double({ min: 0.01, max: 100, noNaN: true }),
              sampleRate: fc.double({ min: 0.001, max: 1, noNaN: true }),
              delta: fc.double({ min: 1e-12, max: 0.01, noNaN: true }),
            })
            .map((p) => encodeRoundPrivacy(p)),
        },
      ),
    }),
  UpdateAttestation: () =>
    fc.record({
      fleet: bytes32(),
      round: uint64(),
      device: address(),
      baseModel: bytes32(),
      updateHash: bytes32(),
      sampleCount: uint64(),
      metricsHash: bytes32(),
      time: uint64(),
    }),
  InferenceAttestation: () =>
    fc.record({
      fleet: bytes32(),
      device: address(),
      model: bytes32(),
      sequence: uint64(),
      inputHash: bytes32(),
      outputHash: bytes32(),
      time: uint64(),
    }),
  Receipt: () =>
    fc.record({
      fleet: bytes32(),
      round: uint64(),
      gateway: address(),
      device: address(),
      attestationHash: bytes32(),
      accepted: fc.boolean(),
      reason: label(),
      time: uint64(),
    }),
}

/** A fixed, readable example of each struct. */
export function exampleMessage<K extends MessageKind>(kind: K, signer: Address): MessageOf<K> {
  const fleet = `0x${'c0'.repeat(32)}` as Hex
  const hash = (n: number) => `0x${n.toString(16).padStart(2, '0').repeat(32)}` as Hex
  const other = '0x00000000000000000000000000000000000000aa' as Address
  const examples: { [P in MessageKind]: MessageOf<P> } = {
    DeviceCertificate: {
      device: signer,
      peerId: '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf',
      fleet,
      hardwareModel: 'raspberrypi-5',
      keyStorage: 'pkcs11',
      capabilities: ['sensor:ecg', 'accel:cpu'],
      validFrom: 1_700_000_000n,
      validUntil: 1_800_000_000n,
      serial: 'RPI5-0001',
    },
    RoundAnnouncement: {
      fleet,
      round: 7n,
      gateway: signer,
      baseModel: hash(1),
      strategy: 'fedavg',
      params: '{"epochs":2,"lr":0.05}',
      deadline: 1_700_000_600n,
      selectionSeed: hash(3),
      selectionRule: '{"fraction":1,"max":10000,"min":1}',
      eligibleBlock: 12n,
      participantsRoot: hash(4),
      privacy: '{"clipNorm":1,"delta":0.00001,"mode":"device","noiseMultiplier":1.1,"sampleRate":0.5}',
    },
    UpdateAttestation: {
      fleet,
      round: 7n,
      device: signer,
      baseModel: hash(1),
      updateHash: hash(2),
      sampleCount: 128n,
      metricsHash: hash(3),
      time: 1_700_000_100n,
    },
    InferenceAttestation: {
      fleet,
      device: signer,
      model: hash(1),
      sequence: 42n,
      inputHash: hash(4),
      outputHash: hash(5),
      time: 1_700_000_200n,
    },
    Receipt: {
      fleet,
      round: 7n,
      gateway: signer,
      device: other,
      attestationHash: hash(6),
      accepted: false,
      reason: 'round-closed',
      time: 1_700_000_300n,
    },
  }
  return examples[kind] as MessageOf<K>
}

/** Puts `address` in the field the struct names as its signer. */
export function withSigner<K extends MessageKind>(kind: K, message: MessageOf<K>, signer: Address): MessageOf<K> {
  const field = SIGNER_FIELD[kind]
  return field === undefined ? message : { ...message, [field]: signer }
}
