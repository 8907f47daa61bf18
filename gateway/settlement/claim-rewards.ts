// Claims a device's rewards for several rounds in one transaction (anyone may send it; the
// tokens go to the device). Proofs come from each round's contribution tree
// (protocols/merkle/contributions.ts).
import { getAddress, isAddress, type Address, type Hex, type LocalAccount, type TransactionReceipt } from 'viem'
import { rewardsAbi } from '../../protocols/contracts/index.js'
import { InvalidArgumentError, type ContributionLeaf } from '../../protocols/index.js'
import type { ChainConnection } from './connect-chain.js'
import { writeAndConfirm } from './send-transaction.js'

export interface RewardClaim {
  leaf: ContributionLeaf
  proof: readonly Hex[]
}

export interface ClaimRewardsParameters {
  account: LocalAccount
  rewards: Address
  device: Address
  claims: readonly RewardClaim[]
  signal?: AbortSignal
}

export async function claimRewards(connection: ChainConnection, parameters: ClaimRewardsParameters): Promise<TransactionReceipt> {
  const { account, rewards, claims, signal } = parameters
  if (!isAddress(parameters.device, { strict: false })) throw new InvalidArgumentError('device', 'expected a 20-byte address')
  const device = getAddress(parameters.device)
  for (const [i, c] of claims.entries())
    if (!isAddress(c.leaf.device, { strict: false }) || getAddress(c.leaf.device) !== device) throw new InvalidArgumentError(`claims.${i}.leaf.device`, `is not ${device}`)
  return writeAndConfirm(connection, {
    account,
    address: rewards,
    abi: rewardsAbi,
    functionName: 'claim',
    args: [device, claims.map((c) => ({ round: c.leaf.round, attestationHash: c.leaf.attestationHash, score: c.leaf.score, proof: [...c.proof] }))],
    ...(signal === undefined ? {} : { signal }),
  })
}
