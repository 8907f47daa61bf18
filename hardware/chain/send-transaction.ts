// Contract writes and deployments through a viem wallet client on the gateway's or owner's
// account: simulate first so that a revert surfaces as its typed error before anything is sent,
// then send and wait for the configured confirmations.
import {
  createWalletClient,
  getAddress,
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type LocalAccount,
  type TransactionReceipt,
  type WalletClient,
} from 'viem'
import { TransactionFailedError } from '../errors.js'
import type { ChainConnection } from './connect-chain.js'
import { decodeContractError } from './decode-contract-error.js'
import { CONFIRMATION_TIMEOUT_MS } from './constants.js'
import { waitForConfirmations } from './wait-for-confirmations.js'

export function walletFor(connection: ChainConnection, account: LocalAccount): WalletClient {
  return createWalletClient({ account, chain: connection.chain, transport: connection.transport, pollingInterval: connection.config.pollIntervalMs })
}

async function confirm(connection: ChainConnection, hash: Hex, signal: AbortSignal | undefined): Promise<TransactionReceipt> {
  const receipt = await waitForConfirmations(connection, {
    hash,
    confirmations: connection.config.confirmations,
    deadline: Date.now() + CONFIRMATION_TIMEOUT_MS,
    ...(signal === undefined ? {} : { signal }),
  })
  if (receipt === undefined) throw new TransactionFailedError(hash, 'the node does not know the transaction')
  if (receipt.status !== 'success') throw new TransactionFailedError(hash, 'reverted')
  return receipt
}

export interface WriteParameters<abi extends Abi, name extends ContractFunctionName<abi, 'nonpayable' | 'payable'>> {
  account: LocalAccount
  address: Address
  abi: abi
  functionName: name
  args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', name>
  signal?: AbortSignal
}

/** Simulates, sends and confirms one contract call; reverts throw their typed error. */
export async function writeAndConfirm<const abi extends Abi, name extends ContractFunctionName<abi, 'nonpayable' | 'payable'>>(
  connection: ChainConnection,
  parameters: WriteParameters<abi, name>,
): Promise<TransactionReceipt> {
  const { account, address, abi, functionName, args, signal } = parameters
  signal?.throwIfAborted()
  let hash: Hex
  try {
    // The generic call signature of viem's simulate/write is too deep for TypeScript to follow
    // through a generic wrapper; the parameters are typed by WriteParameters above.
    const call = { account, address, abi, functionName, args, chain: connection.chain } as Parameters<WalletClient['writeContract']>[0]
    await connection.publicClient.simulateContract(call as Parameters<ChainConnection['publicClient']['simulateContract']>[0])
    hash = await walletFor(connection, account).writeContract(call)
  } catch (err) {
    throw decodeContractError(err)
  }
  return confirm(connection, hash, signal)
}

export interface DeployParameters {
  account: LocalAccount
  abi: Abi
  bytecode: Hex
  args: readonly unknown[]
  signal?: AbortSignal
}

/** Deploys a contract and returns its address once confirmed. */
export async function deployAndConfirm(connection: ChainConnection, parameters: DeployParameters): Promise<{ address: Address; receipt: TransactionReceipt }> {
  const { account, abi, bytecode, args, signal } = parameters
  signal?.throwIfAborted()
  let hash: Hex
  try {
    hash = await walletFor(connection, account).deployContract({ abi, bytecode, args, account, chain: connection.chain })
  } catch (err) {
    throw decodeContractError(err)
  }
  const receipt = await confirm(connection, hash, signal)
  if (receipt.contractAddress === null || receipt.contractAddress === undefined) throw new TransactionFailedError(hash, 'no contract was created')
  return { address: getAddress(receipt.contractAddress), receipt }
}
