// The cumulative reward leaves of a RewardLedger fleet, rebuilt from the chain and the public
// round records alone: every settled round in ascending order, its record fetched by the record
// hash the chain holds, its rewards added to the totals of the rounds before it
// (accumulateRewards), and the tree of those totals compared with the root the round settled.
// What `cw rewards claim` proves against, what `cw audit` checks, and what a gateway settles next.
// A round whose settled root is not the honest one is reported and left out of the totals' roots:
// a gateway that lowers (or raises) a device's total is found here, since the ledger sees a root
// only. A pure read through a viem client the caller brings.
import { getAddress, isAddress, type Address, type Client, type Hex } from 'viem'
import { getBlockNumber, getContractEvents } from 'viem/actions'
import { BaseError, BlobHashMismatchError, ContractReadError, InvalidArgumentError, RecordChainMismatchError } from '../errors.js'
import { accumulateRewards, buildCumulativeTree, EMPTY_CUMULATIVE_ROOT, type CumulativeLeaf, type CumulativeTree } from '../merkle/cumulative-rewards.js'
import type { FetchBlob } from '../records/audit-round.js'
import { decodeRoundRecord, type RoundRecord } from '../records/round-record.js'
import { contentId } from '../tensors/update-codec.js'
import { rewardLedgerAbi } from './artifacts.js'

export interface RebuildCumulativeRewardsParameters {
  ledger: Address
  /** The fleet's deployment block (fleet.json `contracts.deployedAt`). */
  fromBlock?: bigint
  /** Stop after this round (default: every settled round). */
  throughRound?: bigint
  fetchRecord: FetchBlob
  signal?: AbortSignal
}

export type CumulativeRoundStatus =
  /** The settled root is the tree of the rebuilt totals. */
  | 'match'
  /** The settled root is not: the gateway settled other totals (details in `problem`). */
  | 'root-mismatch'
  /** The settled bytes are no round record (round 0's genesis document): no rewards. */
  | 'not-a-round-record'
  /** The record cannot be had: no later total can be rebuilt. */
  | 'record-unavailable'

export interface CumulativeRound {
  round: bigint
  status: CumulativeRoundStatus
  settledRoot: Hex
  newModel: Hex
  recordHash: Hex
  /** The root the rebuilt totals give (absent when they could not be rebuilt). */
  rebuiltRoot?: Hex
  problem?: string
}

export interface RebuildCumulativeRewardsReturnType {
  rounds: CumulativeRound[]
  /** The totals after the last round whose record could be had (every device that ever earned). */
  totals: CumulativeLeaf[]
  /** The latest round whose settled root matches the rebuilt totals, with those totals' tree: what a claim proves against. */
  latest?: { round: bigint; tree: CumulativeTree }
}

interface Settled {
  round: bigint
  fleet: Hex
  root: Hex
  newModel: Hex
  recordHash: Hex
}

/** A record's per-device rewards for the round, in the record's (ascending device) order. */
export function roundRewardsOf(record: RoundRecord): { device: Address; reward: bigint }[] {
  return record.contributions.map((c) => ({ device: getAddress(c.attestation.message.device), reward: c.reward }))
}

/** The totals after `record`'s round, given those before it. */
export function cumulativeAfter(previous: readonly CumulativeLeaf[], record: RoundRecord): CumulativeLeaf[] {
  return accumulateRewards(previous, roundRewardsOf(record))
}

async function settledRounds(client: Client, ledger: Address, fromBlock: bigint): Promise<Settled[]> {
  try {
    const toBlock = await getBlockNumber(client, { cacheTime: 0 })
    const events = await getContractEvents(client, { address: ledger, abi: rewardLedgerAbi, eventName: 'RoundSettled', fromBlock, toBlock, strict: true })
    return events
      .map((e) => ({ round: e.args.round, fleet: e.args.fleet, root: e.args.contributionsRoot, newModel: e.args.newModel, recordHash: e.args.recordHash }))
      .sort((a, b) => (a.round < b.round ? -1 : a.round > b.round ? 1 : 0))
  } catch (err) {
    throw new ContractReadError('RewardLedger RoundSettled events', { cause: err })
  }
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/**
 * Rebuilds every settled round's cumulative totals. Throws when a record's bytes do not hash to
 * the settled record hash (BlobHashMismatchError) or name another round or fleet than their
 * settlement (RecordChainMismatchError): those are no honest publication at all.
 */
export async function rebuildCumulativeRewards(client: Client, parameters: RebuildCumulativeRewardsParameters): Promise<RebuildCumulativeRewardsReturnType> {
  const { fetchRecord, signal, fromBlock = 0n } = parameters
  if (!isAddress(parameters.ledger, { strict: false })) throw new InvalidArgumentError('ledger', 'expected a 20-byte address')
  if (fromBlock < 0n) throw new InvalidArgumentError('fromBlock', 'expected a block number')
  const ledger = getAddress(parameters.ledger)
  signal?.throwIfAborted()
  const rounds: CumulativeRound[] = []
  let totals: CumulativeLeaf[] = []
  let latest: RebuildCumulativeRewardsReturnType['latest']
  let broken = false
  for (const s of await settledRounds(client, ledger, fromBlock)) {
    if (parameters.throughRound !== undefined && s.round > parameters.throughRound) break
    signal?.throwIfAborted()
    const base = { round: s.round, settledRoot: s.root, newModel: s.newModel, recordHash: s.recordHash }
    if (broken) {
      rounds.push({ ...base, status: 'record-unavailable', problem: 'an earlier round record is unavailable, so its totals cannot be rebuilt' })
      continue
    }
    const bytes = await fetchRecord(s.recordHash)
    if (bytes === undefined) {
      broken = true
      rounds.push({ ...base, status: 'record-unavailable', problem: `record ${s.recordHash} not found` })
      continue
    }
    const actual = contentId(bytes)
    if (!same(actual, s.recordHash)) throw new BlobHashMismatchError(s.recordHash, actual, { details: { round: s.round.toString() } })
    let record: RoundRecord
    try {
      record = decodeRoundRecord(bytes)
    } catch (err) {
      if (!(err instanceof BaseError)) throw err
      rounds.push({ ...base, status: 'not-a-round-record' })
      continue
    }
    if (record.round !== s.round) throw new RecordChainMismatchError(s.round, 'round', s.round.toString(), record.round.toString())
    if (!same(record.fleet, s.fleet)) throw new RecordChainMismatchError(s.round, 'fleet', s.fleet, record.fleet)
    totals = cumulativeAfter(totals, record)
    const tree = totals.length === 0 ? undefined : buildCumulativeTree(totals)
    const rebuiltRoot = tree?.root ?? EMPTY_CUMULATIVE_ROOT
    if (same(rebuiltRoot, s.root)) {
      rounds.push({ ...base, status: 'match', rebuiltRoot })
      if (tree !== undefined) latest = { round: s.round, tree }
    } else {
      rounds.push({
        ...base,
        status: 'root-mismatch',
        rebuiltRoot,
        problem: `settled root ${s.root} is not the root of the totals the records give (${rebuiltRoot}): the gateway settled other cumulative totals`,
      })
    }
  }
  return { rounds, totals, ...(latest === undefined ? {} : { latest }) }
}
