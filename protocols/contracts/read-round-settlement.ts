// A round's settlement as the chain holds it, and its comparison with a round record: what an
// auditor checks (`cw audit`), and what a gateway checks before it settles again. A pure read
// through a viem client the caller brings.
import { isAddress, type Address, type Client, type Hash, type Hex } from 'viem'
import { getBlock, getContractEvents, readContract } from 'viem/actions'
import { ContractReadError, InvalidArgumentError } from '../errors.js'
import { MAX_UINT64 } from '../constants.js'
import { roundLedgerAbi } from './artifacts.js'

export interface ReadRoundSettlementParameters {
  ledger: Address
  round: bigint
  /** Where the search for the RoundSettled event starts: the ledger's deployment block. */
  fromBlock?: bigint
  signal?: AbortSignal
}

export interface RoundSettlementOnChain {
  settled: true
  fleet: Hex
  round: bigint
  parentModel: Hex
  newModel: Hex
  contributionsRoot: Hex
  rewardTotal: bigint
  recordHash: Hex
  /** Unix seconds of the block that settled it. */
  settledAt: bigint
  gateway: Address
  transactionHash: Hash
  blockNumber: bigint
}

export type ReadRoundSettlementReturnType = { settled: false } | RoundSettlementOnChain

export async function readRoundSettlement(client: Client, parameters: ReadRoundSettlementParameters): Promise<ReadRoundSettlementReturnType> {
  const { ledger, round, signal } = parameters
  if (!isAddress(ledger, { strict: false })) throw new InvalidArgumentError('ledger', 'expected a 20-byte address')
  if (round < 0n || round > MAX_UINT64) throw new InvalidArgumentError('round', 'expected a uint64')
  signal?.throwIfAborted()
  try {
    // rootOf and the RoundSettled event are common to RoundLedger and RewardLedger (which keeps no
    // reward total or settlement time in storage): the event and its block give the rest.
    const root = await readContract(client, { address: ledger, abi: roundLedgerAbi, functionName: 'rootOf', args: [round] })
    if (BigInt(root) === 0n) return { settled: false }
    const events = await getContractEvents(client, {
      address: ledger,
      abi: roundLedgerAbi,
      eventName: 'RoundSettled',
      args: { round },
      fromBlock: parameters.fromBlock ?? 0n,
      toBlock: 'latest',
      strict: true,
    })
    const event = events[0]
    if (event === undefined) throw new Error(`round ${round} is settled but its RoundSettled event is not in the searched blocks`)
    const block = await getBlock(client, { blockNumber: event.blockNumber })
    signal?.throwIfAborted()
    return {
      settled: true,
      ...event.args,
      contributionsRoot: root,
      settledAt: block.timestamp,
      transactionHash: event.transactionHash,
      blockNumber: event.blockNumber,
    }
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err
    throw new ContractReadError('RoundLedger.rootOf', { cause: err })
  }
}

/** The values a round record (or a gateway about to settle) holds for a round. */
export interface ExpectedSettlement {
  fleet: Hex
  parentModel: Hex
  newModel: Hex
  contributionsRoot: Hex
  rewardTotal: bigint
  /** Absent when the caller has no record hash to compare. */
  recordHash?: Hex
}

export interface SettlementMismatch {
  field: keyof ExpectedSettlement
  onChain: string
  expected: string
}

/** Every field where the chain and the expectation differ; empty when they agree. */
export function compareSettlement(expected: ExpectedSettlement, onChain: RoundSettlementOnChain): SettlementMismatch[] {
  const fields: (keyof ExpectedSettlement)[] = ['fleet', 'parentModel', 'newModel', 'contributionsRoot', 'rewardTotal', 'recordHash']
  const mismatches: SettlementMismatch[] = []
  for (const field of fields) {
    const want = expected[field]
    if (want === undefined) continue
    const have = onChain[field]
    if (String(have).toLowerCase() !== String(want).toLowerCase()) mismatches.push({ field, onChain: String(have), expected: String(want) })
  }
  return mismatches
}
