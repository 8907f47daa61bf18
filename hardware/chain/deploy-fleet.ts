// Deploys one fleet's contracts: by default one RewardLedger (registry, settlements, provenance,
// the reward token and cumulative claims in one contract, owned by the fleet owner); for
// `leaves: 'per-round'`, the earlier three: FleetRegistry, RoundLedger bound to it, and Rewards
// (the reward token and its per-round claims) bound to the ledger.
import { isHex, type Address, type Hex, type LocalAccount } from 'viem'
import {
  fleetRegistryAbi,
  fleetRegistryBytecode,
  rewardLedgerAbi,
  rewardLedgerBytecode,
  rewardsAbi,
  rewardsBytecode,
  roundLedgerAbi,
  roundLedgerBytecode,
} from '../../protocols/contracts/index.js'
import { SettlementConfigError } from '../errors.js'
import type { ChainConnection } from './connect-chain.js'
import { DEFAULT_CLAIM_EXPIRY_SECONDS, REWARD_TOKEN_NAME, REWARD_TOKEN_SYMBOL } from './constants.js'
import { deployAndConfirm, writeAndConfirm } from './send-transaction.js'

/**
 * How a fleet's reward leaves are laid out. `cumulative`: one leaf per device with its total to
 * date (protocols/merkle/cumulative-rewards.ts); registry, ledger and rewards are one RewardLedger.
 * `per-round`: one leaf per contribution and round (protocols/merkle/contributions.ts), the
 * RoundLedger and Rewards pair of fleets created before cumulative leaves.
 */
export type RewardLeaves = 'cumulative' | 'per-round'

export interface FleetContracts {
  registry: Address
  /** Where rounds are settled; for cumulative leaves, the same address as `registry` and `rewards`. */
  ledger: Address
  rewards: Address
  leaves: RewardLeaves
  /** The block of the registry's deployment: where searches for the fleet's events start. */
  deployedAt: bigint
}

export interface DeployFleetParameters {
  /** Deploys the contracts and owns the registry and the reward token. */
  owner: LocalAccount
  /** The fleet id (bytes32). */
  fleet: Hex
  /** Gateways to authorise right away. */
  gateways?: readonly Address[]
  claimExpirySeconds?: bigint
  /** `cumulative` (the default) or `per-round`. */
  leaves?: RewardLeaves
  signal?: AbortSignal
}

export async function deployFleet(connection: ChainConnection, parameters: DeployFleetParameters): Promise<FleetContracts> {
  const { owner, fleet, signal } = parameters
  if (!isHex(fleet, { strict: true }) || fleet.length !== 66 || BigInt(fleet) === 0n) throw new SettlementConfigError('fleet', 'expected a non-zero bytes32')
  const expiry = parameters.claimExpirySeconds ?? DEFAULT_CLAIM_EXPIRY_SECONDS
  if (expiry < 0n || expiry >= 2n ** 64n) throw new SettlementConfigError('claimExpirySeconds', 'expected a uint64')
  const leaves = parameters.leaves ?? 'cumulative'
  if (leaves !== 'cumulative' && leaves !== 'per-round') throw new SettlementConfigError('leaves', "expected 'cumulative' or 'per-round'")
  const opts = signal === undefined ? {} : { signal }
  const authorise = async (registry: Address) => {
    for (const gateway of parameters.gateways ?? [])
      await writeAndConfirm(connection, { account: owner, address: registry, abi: fleetRegistryAbi, functionName: 'setGateway', args: [gateway, true], ...opts })
  }
  if (leaves === 'cumulative') {
    const { address, receipt } = await deployAndConfirm(connection, {
      account: owner,
      abi: rewardLedgerAbi,
      bytecode: rewardLedgerBytecode,
      args: [owner.address, fleet, expiry, REWARD_TOKEN_NAME, REWARD_TOKEN_SYMBOL],
      ...opts,
    })
    await authorise(address)
    connection.logger.info({ registry: address, ledger: address, rewards: address, leaves }, 'fleet contracts deployed')
    return { registry: address, ledger: address, rewards: address, leaves, deployedAt: receipt.blockNumber }
  }
  const registry = await deployAndConfirm(connection, { account: owner, abi: fleetRegistryAbi, bytecode: fleetRegistryBytecode, args: [owner.address, fleet], ...opts })
  const ledger = await deployAndConfirm(connection, { account: owner, abi: roundLedgerAbi, bytecode: roundLedgerBytecode, args: [registry.address], ...opts })
  const rewards = await deployAndConfirm(connection, {
    account: owner,
    abi: rewardsAbi,
    bytecode: rewardsBytecode,
    args: [ledger.address, owner.address, expiry, REWARD_TOKEN_NAME, REWARD_TOKEN_SYMBOL],
    ...opts,
  })
  await authorise(registry.address)
  connection.logger.info({ registry: registry.address, ledger: ledger.address, rewards: rewards.address, leaves }, 'fleet contracts deployed')
  return { registry: registry.address, ledger: ledger.address, rewards: rewards.address, leaves, deployedAt: registry.receipt.blockNumber }
}
