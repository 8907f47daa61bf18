// Claims and sweeps against a RewardLedger's cumulative leaves (protocols/merkle/cumulative-rewards.ts):
// one proof of (device, cumulativeAmount) against one settled round's root pays everything the
// device earned up to that round and has not claimed, whatever the number of rounds.
import { getAddress, isAddress, type Address, type Hex, type LocalAccount, type TransactionReceipt } from 'viem'
import { rewardLedgerAbi } from '../../protocols/contracts/index.js'
import { InvalidArgumentError, MAX_UINT64, type CumulativeLeaf } from '../../protocols/index.js'
import type { ChainConnection } from './connect-chain.js'
import { writeAndConfirm } from './send-transaction.js'

export interface ClaimCumulativeRewardParameters {
  /** Pays the gas; anyone may, the tokens go to the leaf's device. */
  account: LocalAccount
  /** The fleet's RewardLedger (fleet.json `contracts.ledger`). */
  ledger: Address
  /** The settled round whose root `proof` leads to. */
  round: bigint
  leaf: CumulativeLeaf
  proof: readonly Hex[]
  signal?: AbortSignal
}

const checkRound = (round: bigint, field: string) => {
  if (round < 0n || round > MAX_UINT64) throw new InvalidArgumentError(field, 'expected a uint64')
}

export async function claimCumulativeReward(connection: ChainConnection, parameters: ClaimCumulativeRewardParameters): Promise<TransactionReceipt> {
  const { account, ledger, round, leaf, proof, signal } = parameters
  if (!isAddress(ledger, { strict: false })) throw new InvalidArgumentError('ledger', 'expected a 20-byte address')
  if (!isAddress(leaf.device, { strict: false })) throw new InvalidArgumentError('leaf.device', 'expected a 20-byte address')
  checkRound(round, 'round')
  return writeAndConfirm(connection, {
    account,
    address: getAddress(ledger),
    abi: rewardLedgerAbi,
    functionName: 'claim',
    args: [round, getAddress(leaf.device), leaf.cumulativeAmount, [...proof]],
    ...(signal === undefined ? {} : { signal }),
  })
}

export interface SweepCumulativeRewardsParameters {
  /** The fleet owner. */
  owner: LocalAccount
  ledger: Address
  /** Receives what the leaves leave unclaimed. */
  to: Address
  /** A round settled at least the ledger's claimExpiry ago, and the new model its settlement named. */
  round: bigint
  newModel: Hex
  leaves: readonly { leaf: CumulativeLeaf; proof: readonly Hex[] }[]
  signal?: AbortSignal
}

/** The owner's sweep of what `leaves` of an expired round leave unclaimed; each counts as claimed after. */
export async function sweepCumulativeRewards(connection: ChainConnection, parameters: SweepCumulativeRewardsParameters): Promise<TransactionReceipt> {
  const { owner, ledger, to, round, newModel, leaves, signal } = parameters
  for (const [field, a] of [['ledger', ledger], ['to', to]] as const) if (!isAddress(a, { strict: false })) throw new InvalidArgumentError(field, 'expected a 20-byte address')
  checkRound(round, 'round')
  for (const [i, l] of leaves.entries()) if (!isAddress(l.leaf.device, { strict: false })) throw new InvalidArgumentError(`leaves.${i}.leaf.device`, 'expected a 20-byte address')
  return writeAndConfirm(connection, {
    account: owner,
    address: getAddress(ledger),
    abi: rewardLedgerAbi,
    functionName: 'sweep',
    args: [getAddress(to), round, newModel, leaves.map((l) => getAddress(l.leaf.device)), leaves.map((l) => l.leaf.cumulativeAmount), leaves.map((l) => [...l.proof])],
    ...(signal === undefined ? {} : { signal }),
  })
}
