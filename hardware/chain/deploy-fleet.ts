// Deploys one fleet's contracts: FleetRegistry (owned by the fleet owner), RoundLedger bound to
// it, and Rewards (the reward token and its claims) bound to the ledger.
import { isHex, type Address, type Hex, type LocalAccount } from 'viem'
import {
  fleetRegistryAbi,
  fleetRegistryBytecode,
  rewardsAbi,
  rewardsBytecode,
  roundLedgerAbi,
  roundLedgerBytecode,
} from '../../protocols/contracts/index.js'
import { SettlementConfigError } from '../errors.js'
import type { ChainConnection } from './connect-chain.js'
import { DEFAULT_CLAIM_EXPIRY_SECONDS, REWARD_TOKEN_NAME, REWARD_TOKEN_SYMBOL } from './constants.js'
import { deployAndConfirm, writeAndConfirm } from './send-transaction.js'

export interface FleetContracts {
  registry: Address
  ledger: Address
  rewards: Address
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
  signal?: AbortSignal
}

export async function deployFleet(connection: ChainConnection, parameters: DeployFleetParameters): Promise<FleetContracts> {
  const { owner, fleet, signal } = parameters
  if (!isHex(fleet, { strict: true }) || fleet.length !== 66 || BigInt(fleet) === 0n) throw new SettlementConfigError('fleet', 'expected a non-zero bytes32')
  const expiry = parameters.claimExpirySeconds ?? DEFAULT_CLAIM_EXPIRY_SECONDS
  if (expiry < 0n || expiry >= 2n ** 64n) throw new SettlementConfigError('claimExpirySeconds', 'expected a uint64')
  const opts = signal === undefined ? {} : { signal }
  const registry = await deployAndConfirm(connection, { account: owner, abi: fleetRegistryAbi, bytecode: fleetRegistryBytecode, args: [owner.address, fleet], ...opts })
  const ledger = await deployAndConfirm(connection, { account: owner, abi: roundLedgerAbi, bytecode: roundLedgerBytecode, args: [registry.address], ...opts })
  const rewards = await deployAndConfirm(connection, {
    account: owner,
    abi: rewardsAbi,
    bytecode: rewardsBytecode,
    args: [ledger.address, owner.address, expiry, REWARD_TOKEN_NAME, REWARD_TOKEN_SYMBOL],
    ...opts,
  })
  for (const gateway of parameters.gateways ?? [])
    await writeAndConfirm(connection, { account: owner, address: registry.address, abi: fleetRegistryAbi, functionName: 'setGateway', args: [gateway, true], ...opts })
  connection.logger.info({ registry: registry.address, ledger: ledger.address, rewards: rewards.address }, 'fleet contracts deployed')
  return { registry: registry.address, ledger: ledger.address, rewards: rewards.address, deployedAt: registry.receipt.blockNumber }
}
