// What a gateway of a RewardLedger fleet settles as a round's root: the tree of every device's
// cumulative total after the round, i.e. the totals rebuilt from the chain and the published
// records of the rounds settled before it, plus this round's rewards. Nothing is kept beside the
// records, so a restarted gateway, or another one, settles the same root; and a total never goes
// down, which is checked here again before anything is sent.
import type { Address, Client, Hex } from 'viem'
import {
  cumulativeRootOf,
  findCumulativeDecreases,
  type CumulativeLeaf,
  type FetchBlob,
  type RoundRecord,
} from '../../protocols/index.js'
import { cumulativeAfter, rebuildCumulativeRewards } from '../../protocols/contracts/index.js'
import { CumulativeTotalsError } from '../errors.js'

export interface CumulativeRootParameters {
  ledger: Address
  fromBlock?: bigint
  /** The round records settled so far, by their sha256 (the gateway's store, its published blobs). */
  fetchRecord: FetchBlob
  /** The round about to be settled. */
  record: RoundRecord
  signal?: AbortSignal
}

export interface CumulativeRootReturnType {
  root: Hex
  totals: CumulativeLeaf[]
}

export async function cumulativeRoot(client: Client, parameters: CumulativeRootParameters): Promise<CumulativeRootReturnType> {
  const { record } = parameters
  const rebuilt = await rebuildCumulativeRewards(client, {
    ledger: parameters.ledger,
    fetchRecord: parameters.fetchRecord,
    ...(parameters.fromBlock === undefined ? {} : { fromBlock: parameters.fromBlock }),
    ...(parameters.signal === undefined ? {} : { signal: parameters.signal }),
    ...(record.round === 0n ? {} : { throughRound: record.round - 1n }),
  })
  const missing = rebuilt.rounds.find((r) => r.status === 'record-unavailable')
  if (missing !== undefined) throw new CumulativeTotalsError(record.round, `the record of round ${missing.round} (${missing.recordHash}) cannot be had, so the totals before round ${record.round} cannot be rebuilt`)
  const previous = record.round === 0n ? [] : rebuilt.totals
  const totals = cumulativeAfter(previous, record)
  const [decrease] = findCumulativeDecreases(previous, totals)
  if (decrease !== undefined) throw new CumulativeTotalsError(record.round, `the total of ${decrease.device} would go down from ${decrease.previous} to ${decrease.next}`)
  return { root: cumulativeRootOf(totals), totals }
}
