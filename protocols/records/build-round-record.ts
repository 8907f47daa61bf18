// Builds a round's record from what the gateway aggregated: scores and rewards (scoring.ts), the
// contributions Merkle tree, and the canonical record bytes. An auditor runs the same code.
import { type Address, type Hex } from 'viem'
import { hashMessage } from '../eip712/messages.js'
import type { FleetDomain } from '../eip712/domain.js'
import type { Signed } from '../eip712/schemas.js'
import { buildContributionTree } from '../merkle/contributions.js'
import { contentId } from '../tensors/update-codec.js'
import { encodeRoundRecord, type ContributionPrivacy, type RoundRecord } from './round-record.js'
import { splitRewards } from './scoring.js'

/** The root settled for a round without contributions. */
export const EMPTY_ROOT: Hex = `0x${'00'.repeat(32)}`

export interface RecordedContribution {
  attestation: Signed<'UpdateAttestation'>
  certificate: Signed<'DeviceCertificate'>
  /** Whether the strategy used the update. */
  used: boolean
  /** From qualityPpm(delta, aggregate delta, used). */
  qualityPpm: number
  /** Rounds under DP: the device's ledger after this round and its ε at the announced δ. */
  privacy?: ContributionPrivacy
}

export interface BuildRoundRecordParameters {
  domain: FleetDomain
  owner: Address
  announcement: Signed<'RoundAnnouncement'>
  /** Ascending device order. */
  contributions: readonly RecordedContribution[]
  newModel: Hex
  keptParent: boolean
  previousState?: Hex
  nextState?: Hex
  rewardTotal: bigint
}

export interface BuildRoundRecordReturnType {
  record: RoundRecord
  bytes: Uint8Array
  hash: Hex
}

export function buildRoundRecord(p: BuildRoundRecordParameters): BuildRoundRecordReturnType {
  const rewards = splitRewards(
    p.contributions.map((c) => ({ sampleCount: Number(c.attestation.message.sampleCount), qualityPpm: c.qualityPpm })),
    p.rewardTotal,
  )
  const round = p.announcement.message.round
  const leaves = p.contributions.map((c, i) => ({
    round,
    device: c.attestation.message.device,
    attestationHash: hashMessage('UpdateAttestation', p.domain, c.attestation.message),
    score: rewards[i] ?? 0n,
  }))
  const record: RoundRecord = {
    fleet: p.announcement.message.fleet,
    round,
    chainId: BigInt(p.domain.chainId),
    registry: p.domain.verifyingContract,
    owner: p.owner,
    announcement: p.announcement,
    parentModel: p.announcement.message.baseModel,
    newModel: p.newModel,
    keptParent: p.keptParent,
    ...(p.previousState === undefined ? {} : { previousState: p.previousState }),
    ...(p.nextState === undefined ? {} : { nextState: p.nextState }),
    contributions: p.contributions.map((c, i) => ({
      attestation: c.attestation,
      certificate: c.certificate,
      used: c.used,
      qualityPpm: c.qualityPpm,
      reward: rewards[i] ?? 0n,
      ...(c.privacy === undefined ? {} : { privacy: c.privacy }),
    })),
    contributionsRoot: leaves.length === 0 ? EMPTY_ROOT : buildContributionTree(leaves).root,
    rewardTotal: p.rewardTotal,
  }
  const bytes = encodeRoundRecord(record)
  return { record, bytes, hash: contentId(bytes) }
}
