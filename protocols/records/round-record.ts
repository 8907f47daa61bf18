// The round record: everything needed to audit a round from public data, in one canonical
// protobuf encoding whose sha256 is the record hash settled on chain.
import { bytesToHex, getAddress, hexToBytes, numberToHex, type Address, type Hex } from 'viem'
import { MAX_RECORD_CONTRIBUTIONS, MAX_UINT64 } from '../constants.js'
import { BaseError, DecodeError, InvalidArgumentError } from '../errors.js'
import type { Signed } from '../eip712/schemas.js'
import { checkSize, decodeProtobuf, fromWireSigned, requireCanonical, toWireSigned, type WireObject } from '../wire/codec.js'
import * as proto from '../wire/proto/messages.js'
import { checkLedger, type LedgerEntry } from '../privacy/ledger.js'
import { MAX_LEDGER_ENTRIES } from '../privacy/constants.js'

export interface RoundContribution {
  attestation: Signed<'UpdateAttestation'>
  certificate: Signed<'DeviceCertificate'>
  used: boolean
  qualityPpm: number
  reward: bigint
  /** Rounds under DP: the device's privacy ledger at this gateway after the round, and its ε at the announced δ. */
  privacy?: ContributionPrivacy
}

export interface ContributionPrivacy {
  ledger: LedgerEntry[]
  epsilon: number
}

export interface RoundRecord {
  fleet: Hex
  round: bigint
  chainId: bigint
  registry: Address
  owner: Address
  announcement: Signed<'RoundAnnouncement'>
  parentModel: Hex
  newModel: Hex
  keptParent: boolean
  /** sha256 of the server optimiser state before / after the round; undefined when stateless. */
  previousState?: Hex
  nextState?: Hex
  /** Ascending device order. */
  contributions: RoundContribution[]
  contributionsRoot: Hex
  rewardTotal: bigint
}

const TYPE = 'RoundRecord'
const MAX_UINT256 = 2n ** 256n - 1n
const PPM = 1_000_000

const uint256Bytes = (value: bigint, field: string): Uint8Array => {
  if (value < 0n || value > MAX_UINT256) throw new InvalidArgumentError(field, 'must be a uint256')
  return hexToBytes(numberToHex(value, { size: 32 }))
}
const privacyWire = (privacy: ContributionPrivacy | undefined, field: string): { privacyLedger: proto.PrivacySpend[]; epsilon: number } => {
  if (privacy === undefined) return { privacyLedger: [], epsilon: 0 }
  try {
    checkLedger(privacy.ledger)
  } catch (err) {
    throw new InvalidArgumentError(`${field}.ledger`, err instanceof Error ? err.message : String(err))
  }
  if (privacy.ledger.length === 0) throw new InvalidArgumentError(`${field}.ledger`, 'must hold at least this round')
  if (!(privacy.epsilon > 0) || !Number.isFinite(privacy.epsilon)) throw new InvalidArgumentError(`${field}.epsilon`, 'must be a finite number > 0')
  return { privacyLedger: privacy.ledger.map((e) => ({ sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier, rounds: e.rounds })), epsilon: privacy.epsilon }
}

const optionalHash = (h: Hex | undefined): Uint8Array => (h === undefined ? new Uint8Array(0) : hexToBytes(h))

export function encodeRoundRecord(record: RoundRecord): Uint8Array {
  if (record.contributions.length > MAX_RECORD_CONTRIBUTIONS) throw new InvalidArgumentError('contributions', `more than ${MAX_RECORD_CONTRIBUTIONS}`)
  if (record.round < 0n || record.round > MAX_UINT64) throw new InvalidArgumentError('round', 'must be a uint64')
  const devices = record.contributions.map((c) => c.attestation.message.device.toLowerCase())
  devices.forEach((d, i) => {
    if (i > 0 && !((devices[i - 1] as string) < d)) throw new InvalidArgumentError(`contributions.${i}`, 'devices must be unique and ascending')
  })
  // protons types bytes fields as Uint8Array<ArrayBuffer>; viem's hexToBytes gives that at run time.
  const wire = {
    fleet: hexToBytes(record.fleet),
    round: record.round,
    chainId: record.chainId,
    registry: hexToBytes(record.registry),
    owner: hexToBytes(record.owner),
    announcement: toWireSigned('RoundAnnouncement', record.announcement) as unknown as proto.RoundAnnouncement,
    parentModel: hexToBytes(record.parentModel),
    newModel: hexToBytes(record.newModel),
    keptParent: record.keptParent,
    previousState: optionalHash(record.previousState),
    nextState: optionalHash(record.nextState),
    contributions: record.contributions.map((c, i) => {
      if (!Number.isInteger(c.qualityPpm) || c.qualityPpm < 0 || c.qualityPpm > PPM) throw new InvalidArgumentError(`contributions.${i}.qualityPpm`, `must be an integer in 0..${PPM}`)
      return {
        attestation: toWireSigned('UpdateAttestation', c.attestation) as unknown as proto.UpdateAttestation,
        certificate: toWireSigned('DeviceCertificate', c.certificate) as unknown as proto.DeviceCertificate,
        used: c.used,
        qualityPpm: c.qualityPpm,
        reward: uint256Bytes(c.reward, `contributions.${i}.reward`),
        ...privacyWire(c.privacy, `contributions.${i}.privacy`),
      }
    }),
    contributionsRoot: hexToBytes(record.contributionsRoot),
    rewardTotal: uint256Bytes(record.rewardTotal, 'rewardTotal'),
  }
  const bytes = proto.RoundRecord.encode(wire as unknown as proto.RoundRecord)
  checkSize(TYPE, bytes)
  return bytes
}

const bytesOf = (field: string, value: Uint8Array, length: number): Uint8Array => {
  if (value.length !== length) throw new DecodeError(TYPE, field, `expected ${length} bytes, got ${value.length}`)
  return value
}
const hashOf = (field: string, value: Uint8Array): Hex => bytesToHex(bytesOf(field, value, 32))
const optionalHashOf = (field: string, value: Uint8Array): Hex | undefined => (value.length === 0 ? undefined : hashOf(field, value))

const privacyOf = (at: string, ledger: proto.PrivacySpend[], epsilon: number): ContributionPrivacy | undefined => {
  if (ledger.length === 0 && epsilon === 0) return undefined
  if (ledger.length === 0) throw new DecodeError(TYPE, `${at}.privacyLedger`, 'an ε without a ledger')
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new DecodeError(TYPE, `${at}.epsilon`, 'must be a finite number > 0 beside a ledger')
  const entries = ledger.map((e) => ({ sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier, rounds: e.rounds }))
  try {
    checkLedger(entries)
  } catch (err) {
    throw new DecodeError(TYPE, `${at}.privacyLedger`, err instanceof Error ? err.message : String(err))
  }
  return { ledger: entries, epsilon }
}

/** Decodes a record strictly (size cap, canonical bytes, every nested message validated). */
export function decodeRoundRecord(bytes: Uint8Array): RoundRecord {
  checkSize(TYPE, bytes)
  const wire = decodeProtobuf(TYPE, bytes, () =>
    proto.RoundRecord.decode(bytes, { limits: { contributions: MAX_RECORD_CONTRIBUTIONS, contributions$: { privacyLedger: MAX_LEDGER_ENTRIES } } }),
  )
  requireCanonical(TYPE, bytes, proto.RoundRecord.encode(wire))
  if (wire.announcement === undefined) throw new DecodeError(TYPE, 'announcement', 'missing')
  const nested = <T>(field: string, f: () => T): T => {
    try {
      return f()
    } catch (err) {
      if (err instanceof BaseError) throw new DecodeError(TYPE, field, err.message, { cause: err })
      throw err
    }
  }
  const contributions = wire.contributions.map((c, i) => {
    const at = `contributions.${i}`
    if (c.attestation === undefined || c.certificate === undefined) throw new DecodeError(TYPE, at, 'attestation and certificate are required')
    if (c.qualityPpm > PPM) throw new DecodeError(TYPE, `${at}.qualityPpm`, `exceeds ${PPM}`)
    const privacy = privacyOf(at, c.privacyLedger, c.epsilon)
    return {
      attestation: nested(`${at}.attestation`, () => fromWireSigned('UpdateAttestation', c.attestation as unknown as WireObject)),
      certificate: nested(`${at}.certificate`, () => fromWireSigned('DeviceCertificate', c.certificate as unknown as WireObject)),
      used: c.used,
      qualityPpm: c.qualityPpm,
      reward: BigInt(hashOf(`${at}.reward`, c.reward)),
      ...(privacy === undefined ? {} : { privacy }),
    }
  })
  contributions.forEach((c, i) => {
    const previous = contributions[i - 1]
    if (previous !== undefined && !(previous.attestation.message.device.toLowerCase() < c.attestation.message.device.toLowerCase()))
      throw new DecodeError(TYPE, `contributions.${i}`, 'devices must be unique and ascending')
  })
  return {
    fleet: hashOf('fleet', wire.fleet),
    round: wire.round,
    chainId: wire.chainId,
    registry: getAddress(bytesToHex(bytesOf('registry', wire.registry, 20))),
    owner: getAddress(bytesToHex(bytesOf('owner', wire.owner, 20))),
    announcement: nested('announcement', () => fromWireSigned('RoundAnnouncement', wire.announcement as unknown as WireObject)),
    parentModel: hashOf('parentModel', wire.parentModel),
    newModel: hashOf('newModel', wire.newModel),
    keptParent: wire.keptParent,
    ...(optionalHashOf('previousState', wire.previousState) === undefined ? {} : { previousState: hashOf('previousState', wire.previousState) }),
    ...(optionalHashOf('nextState', wire.nextState) === undefined ? {} : { nextState: hashOf('nextState', wire.nextState) }),
    contributions,
    contributionsRoot: hashOf('contributionsRoot', wire.contributionsRoot),
    rewardTotal: BigInt(hashOf('rewardTotal', wire.rewardTotal)),
  }
}
