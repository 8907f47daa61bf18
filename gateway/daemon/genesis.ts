// Genesis: the gateway's initial model is settled on chain as round 0, so that it passes the
// model-provenance check (isSettledModel) and agents may run it before any round has finished.
// The RoundLedger refuses zero roots and record hashes, so round 0 carries fixed placeholders,
// documented in docs/gateway-daemon.md:
//   contributionsRoot = keccak256(utf8(GENESIS_CONTRIBUTIONS_LABEL)): no leaf hashes to it, so
//                       nothing can be claimed for round 0;
//   recordHash        = sha256 of the genesis document (below), published like any record;
//   parentModel       = zero (the initial model has no parent); rewardTotal = 0.
import { keccak256, stringToHex, type Address, type Hex, type LocalAccount } from 'viem'
import { contentId } from '../../protocols/index.js'
import { isSettledModel } from '../../protocols/contracts/index.js'
import { settleRound, type ChainConnection, type SettlementJournal, type SettleRoundReturnType } from '../settlement/index.js'
import { GENESIS_CONTRIBUTIONS_LABEL, GENESIS_RECORD_KIND, GENESIS_ROUND } from './constants.js'

export const GENESIS_CONTRIBUTIONS_ROOT: Hex = keccak256(stringToHex(GENESIS_CONTRIBUTIONS_LABEL))
export const ZERO_HASH: Hex = `0x${'00'.repeat(32)}`

export interface GenesisDocument {
  bytes: Uint8Array
  /** sha256 of `bytes`: the recordHash settled for round 0. */
  hash: Hex
}

/**
 * The genesis document: UTF-8 JSON, keys in this order, hex in lower case, no white space:
 * {"kind":"counterweight-genesis","version":1,"fleet":"0x…","round":"0","model":"0x…"}
 */
export function genesisDocument(fleet: Hex, model: Hex): GenesisDocument {
  const json = JSON.stringify({ kind: GENESIS_RECORD_KIND, version: 1, fleet: fleet.toLowerCase(), round: GENESIS_ROUND.toString(), model: model.toLowerCase() })
  const bytes = new TextEncoder().encode(json)
  return { bytes, hash: contentId(bytes) }
}

export interface SettleGenesisParameters {
  gateway: LocalAccount
  ledger: Address
  fleet: Hex
  /** sha256 of the initial model. */
  model: Hex
  journal: SettlementJournal
  fromBlock?: bigint
  signal?: AbortSignal
}

export type SettleGenesisReturnType =
  | { status: 'already-settled'; round: bigint }
  | (SettleRoundReturnType & { round: bigint })

/**
 * Settles round 0 with the initial model unless that model is settled already (by an earlier
 * start, or as some later round's model). Idempotent; a round 0 settled with another model is a
 * SettlementConflictError.
 */
export async function settleGenesis(connection: ChainConnection, parameters: SettleGenesisParameters): Promise<SettleGenesisReturnType> {
  const { gateway, ledger, fleet, model, journal, fromBlock, signal } = parameters
  const provenance = await isSettledModel(connection.publicClient, { ledger, model, ...(signal === undefined ? {} : { signal }) })
  if (provenance.settled) return { status: 'already-settled', round: provenance.round }
  const result = await settleRound(connection, {
    gateway,
    ledger,
    journal,
    settlement: {
      fleet,
      round: GENESIS_ROUND,
      parentModel: ZERO_HASH,
      newModel: model,
      contributionsRoot: GENESIS_CONTRIBUTIONS_ROOT,
      rewardTotal: 0n,
      recordHash: genesisDocument(fleet, model).hash,
    },
    ...(fromBlock === undefined ? {} : { fromBlock }),
    ...(signal === undefined ? {} : { signal }),
  })
  return { ...result, round: GENESIS_ROUND }
}
