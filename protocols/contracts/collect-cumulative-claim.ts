// What a device of a RewardLedger fleet may claim, from the chain and the public round records
// alone (rebuildCumulativeRewards): its leaf in the latest round whose settled root the records
// rebuild, the proof, and that leaf's total less what the ledger says it has claimed.
import { getAddress, isAddress, isAddressEqual, type Address, type Client, type Hex } from 'viem'
import { readContract } from 'viem/actions'
import { ContractReadError, InvalidArgumentError } from '../errors.js'
import { verifyCumulative, type CumulativeLeaf } from '../merkle/cumulative-rewards.js'
import type { FetchBlob } from '../records/audit-round.js'
import { rewardLedgerAbi } from './artifacts.js'
import { rebuildCumulativeRewards, type CumulativeRound } from './rebuild-cumulative-rewards.js'

export interface CollectCumulativeClaimParameters {
  ledger: Address
  device: Address
  fromBlock?: bigint
  fetchRecord: FetchBlob
  signal?: AbortSignal
}

export interface CollectCumulativeClaimReturnType {
  device: Address
  /** The round proven against, its leaf and proof; absent when no settled root holds the device. */
  claim?: { round: bigint; leaf: CumulativeLeaf; proof: Hex[] }
  /** What the ledger has paid the device (or the owner swept) so far. */
  claimed: bigint
  /** The leaf's total less `claimed`: what a claim now pays (zero: nothing to claim). */
  due: bigint
  /** Every settled round and whether its root was rebuilt. */
  rounds: CumulativeRound[]
}

export async function collectCumulativeClaim(client: Client, parameters: CollectCumulativeClaimParameters): Promise<CollectCumulativeClaimReturnType> {
  for (const field of ['ledger', 'device'] as const)
    if (!isAddress(parameters[field], { strict: false })) throw new InvalidArgumentError(field, 'expected a 20-byte address')
  const ledger = getAddress(parameters.ledger)
  const device = getAddress(parameters.device)
  const rebuilt = await rebuildCumulativeRewards(client, {
    ledger,
    fetchRecord: parameters.fetchRecord,
    ...(parameters.fromBlock === undefined ? {} : { fromBlock: parameters.fromBlock }),
    ...(parameters.signal === undefined ? {} : { signal: parameters.signal }),
  })
  let claimed: bigint
  try {
    claimed = await readContract(client, { address: ledger, abi: rewardLedgerAbi, functionName: 'claimedOf', args: [device] })
  } catch (err) {
    throw new ContractReadError('RewardLedger.claimedOf', { cause: err })
  }
  const latest = rebuilt.latest
  const leaf = latest?.tree.leaves.find((l) => isAddressEqual(l.device, device))
  if (latest === undefined || leaf === undefined) return { device, claimed, due: 0n, rounds: rebuilt.rounds }
  const proof = latest.tree.proof(device)
  // Rebuilt from the same leaves; checked so that a fault here never costs a reverted transaction.
  if (!verifyCumulative(latest.tree.root, leaf, proof)) throw new InvalidArgumentError('proof', `the rebuilt proof of ${device} does not verify`)
  const due = leaf.cumulativeAmount > claimed ? leaf.cumulativeAmount - claimed : 0n
  return { device, claim: { round: latest.round, leaf: { device, cumulativeAmount: leaf.cumulativeAmount }, proof }, claimed, due, rounds: rebuilt.rounds }
}
