// What a device may claim, from the chain and the public round records alone: every round the
// fleet's RoundLedger settled, its record fetched by the record hash the chain holds, the
// contribution tree rebuilt from that record and checked against the settled root, the device's
// leaf and proof, less the rounds Rewards says it has claimed. Nothing here trusts the gateway or
// the place the records came from. A pure read through a viem client the caller brings.
import { getAddress, isAddress, isAddressEqual, type Address, type Client, type Hex } from 'viem'
import { getBlockNumber, getContractEvents, readContract } from 'viem/actions'
import { BaseError, BlobHashMismatchError, ContractReadError, InvalidArgumentError, RecordChainMismatchError } from '../errors.js'
import { fleetDomain } from '../eip712/domain.js'
import { hashMessage } from '../eip712/messages.js'
import { buildContributionTree, verifyContribution, type ContributionLeaf } from '../merkle/contributions.js'
import type { FetchBlob } from '../records/audit-round.js'
import { decodeRoundRecord, type RoundRecord } from '../records/round-record.js'
import { contentId } from '../tensors/update-codec.js'
import { rewardsAbi, roundLedgerAbi } from './artifacts.js'
import { MAX_CLAIMS_PER_TRANSACTION } from './constants.js'

export interface CollectRewardClaimsParameters {
  ledger: Address
  rewards: Address
  device: Address
  /** Where the RoundSettled search starts: the fleet's deployment block (fleet.json `contracts.deployedAt`). */
  fromBlock?: bigint
  /** Fetches a round record by its sha256 (a directory of published blobs, the mesh). */
  fetchRecord: FetchBlob
  signal?: AbortSignal
}

export interface CollectedClaim {
  leaf: ContributionLeaf
  proof: Hex[]
}

export type SkippedReason = 'record-unavailable' | 'not-a-round-record' | 'no-contribution' | 'zero-score' | 'already-claimed' | 'over-transaction-cap'

export interface SkippedRound {
  round: bigint
  reason: SkippedReason
}

export interface CollectRewardClaimsReturnType {
  device: Address
  /** Unclaimed rounds with a positive score, ascending, at most MAX_CLAIMS_PER_TRANSACTION. */
  claims: CollectedClaim[]
  /** The sum of the claims' scores. */
  total: bigint
  /** Every other settled round, and why it is not claimed. */
  skipped: SkippedRound[]
}

interface SettledRound {
  round: bigint
  fleet: Hex
  contributionsRoot: Hex
  recordHash: Hex
}

/** The contribution leaves a record commits to: what the gateway built its tree from (build-round-record.ts). */
export function contributionLeavesOf(record: RoundRecord): ContributionLeaf[] {
  const domain = fleetDomain({ chainId: Number(record.chainId), verifyingContract: record.registry })
  return record.contributions.map((c) => ({
    round: record.round,
    device: c.attestation.message.device,
    attestationHash: hashMessage('UpdateAttestation', domain, c.attestation.message),
    score: c.reward,
  }))
}

async function settledRounds(client: Client, ledger: Address, fromBlock: bigint): Promise<SettledRound[]> {
  try {
    const toBlock = await getBlockNumber(client, { cacheTime: 0 })
    const events = await getContractEvents(client, { address: ledger, abi: roundLedgerAbi, eventName: 'RoundSettled', fromBlock, toBlock, strict: true })
    return events
      .map((e) => ({ round: e.args.round, fleet: e.args.fleet, contributionsRoot: e.args.contributionsRoot, recordHash: e.args.recordHash }))
      .sort((a, b) => (a.round < b.round ? -1 : a.round > b.round ? 1 : 0))
  } catch (err) {
    throw new ContractReadError('RoundLedger RoundSettled events', { cause: err })
  }
}

/**
 * Collects `device`'s unclaimed rewards. Throws, so that nothing is claimed, when a record's bytes
 * do not hash to the settled record hash (BlobHashMismatchError) or the record disagrees with its
 * settlement (RecordChainMismatchError); a record that cannot be had is skipped.
 */
export async function collectRewardClaims(client: Client, parameters: CollectRewardClaimsParameters): Promise<CollectRewardClaimsReturnType> {
  const { fetchRecord, signal, fromBlock = 0n } = parameters
  for (const field of ['ledger', 'rewards', 'device'] as const)
    if (!isAddress(parameters[field], { strict: false })) throw new InvalidArgumentError(field, 'expected a 20-byte address')
  if (fromBlock < 0n) throw new InvalidArgumentError('fromBlock', 'expected a block number')
  const ledger = getAddress(parameters.ledger)
  const rewards = getAddress(parameters.rewards)
  const device = getAddress(parameters.device)
  signal?.throwIfAborted()

  const skipped: SkippedRound[] = []
  const candidates: CollectedClaim[] = []
  for (const s of await settledRounds(client, ledger, fromBlock)) {
    signal?.throwIfAborted()
    const bytes = await fetchRecord(s.recordHash)
    if (bytes === undefined) {
      skipped.push({ round: s.round, reason: 'record-unavailable' })
      continue
    }
    const actual = contentId(bytes)
    if (actual.toLowerCase() !== s.recordHash.toLowerCase()) throw new BlobHashMismatchError(s.recordHash, actual, { details: { round: s.round.toString() } })
    let record: RoundRecord
    try {
      record = decodeRoundRecord(bytes)
    } catch (err) {
      // The settled bytes are what the gateway published for this round (a genesis document, say):
      // they hold no contributions to claim.
      if (err instanceof BaseError) {
        skipped.push({ round: s.round, reason: 'not-a-round-record' })
        continue
      }
      throw err
    }
    if (record.round !== s.round) throw new RecordChainMismatchError(s.round, 'round', s.round.toString(), record.round.toString())
    if (record.fleet.toLowerCase() !== s.fleet.toLowerCase()) throw new RecordChainMismatchError(s.round, 'fleet', s.fleet, record.fleet)
    const leaves = contributionLeavesOf(record)
    const index = leaves.findIndex((l) => isAddressEqual(l.device, device))
    if (index < 0) {
      skipped.push({ round: s.round, reason: 'no-contribution' })
      continue
    }
    const tree = buildContributionTree(leaves)
    if (tree.root.toLowerCase() !== s.contributionsRoot.toLowerCase()) throw new RecordChainMismatchError(s.round, 'contributionsRoot', s.contributionsRoot, tree.root)
    const leaf = leaves[index] as ContributionLeaf
    if (leaf.score === 0n) {
      skipped.push({ round: s.round, reason: 'zero-score' })
      continue
    }
    const proof = tree.proof(device)
    // The tree was rebuilt from these very leaves; checking the proof against the settled root
    // keeps a fault in that code from costing the device a reverted transaction.
    if (!verifyContribution(s.contributionsRoot, leaf, proof)) throw new RecordChainMismatchError(s.round, 'contributionsRoot', s.contributionsRoot, tree.root)
    candidates.push({ leaf, proof })
  }

  const claimed = await Promise.all(
    candidates.map(async (c) => {
      try {
        return await readContract(client, { address: rewards, abi: rewardsAbi, functionName: 'isClaimed', args: [device, c.leaf.round] })
      } catch (err) {
        throw new ContractReadError('Rewards.isClaimed', { cause: err })
      }
    }),
  )
  signal?.throwIfAborted()
  const claims: CollectedClaim[] = []
  candidates.forEach((c, i) => {
    if (claimed[i] === true) skipped.push({ round: c.leaf.round, reason: 'already-claimed' })
    else if (claims.length >= MAX_CLAIMS_PER_TRANSACTION) skipped.push({ round: c.leaf.round, reason: 'over-transaction-cap' })
    else claims.push(c)
  })
  skipped.sort((a, b) => (a.round < b.round ? -1 : a.round > b.round ? 1 : 0))
  return { device, claims, total: claims.reduce((sum, c) => sum + c.leaf.score, 0n), skipped }
}
