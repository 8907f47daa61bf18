// The root a gateway settles for a finished round, by the fleet's reward leaves: the round's own
// contributions root (per-round leaves), or the root of every device's cumulative total after the
// round (cumulative leaves), rebuilt from the chain and the round records the gateway holds.
import type { Client, Hex } from 'viem'
import { decodeRoundRecord, type FetchBlob, type FleetFile } from '../../protocols/index.js'
import { cumulativeRoot } from '../settlement/index.js'
import { RoundStateError } from '../errors.js'

export interface SettledRootParameters {
  client: Client
  fleet: FleetFile
  fromBlock: bigint
  /** Blobs by sha256: the gateway's store, then its published directory (the genesis document). */
  fetchBlob: FetchBlob
}

export type SettledRoot = (round: bigint, result: { recordHash: Hex; contributionsRoot: Hex }, signal?: AbortSignal) => Promise<Hex>

export function settledRoot(parameters: SettledRootParameters): SettledRoot {
  const { client, fleet, fromBlock, fetchBlob } = parameters
  return async (round, result, signal) => {
    if (fleet.contracts.leaves !== 'cumulative') return result.contributionsRoot
    const bytes = await fetchBlob(result.recordHash)
    if (bytes === undefined) throw new RoundStateError(round, 'settling', `record ${result.recordHash} is not in the store`)
    const computed = await cumulativeRoot(client, { ledger: fleet.contracts.ledger, fromBlock, fetchRecord: fetchBlob, record: decodeRoundRecord(bytes), ...(signal === undefined ? {} : { signal }) })
    return computed.root
  }
}
