// Settles one round on the fleet's RoundLedger, exactly once, across retries, RPC outages and
// gateway crashes. Each attempt starts from what the chain and the journal say:
//   1. the ledger holds the round → compare it with ours, wait for confirmations, done;
//   2. the journal holds a signed transaction → wait for it; re-send the same bytes if the node
//      lost it; start afresh only when its nonce was spent by something else;
//   3. otherwise simulate (a revert throws its typed error), sign, journal, send.
// The contract itself refuses a second settlement (RoundAlreadySettled), so even two gateways
// racing cannot settle a round twice.
import {
  BaseError as ViemBaseError,
  HttpRequestError,
  encodeFunctionData,
  isHex,
  keccak256,
  SocketClosedError,
  TimeoutError,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  type Address,
  type Hash,
  type Hex,
  type LocalAccount,
} from 'viem'
import { compareSettlement, readRoundSettlement, roundLedgerAbi } from '../../protocols/contracts/index.js'
import { ContractReadError, InvalidArgumentError, MAX_UINT64 } from '../../protocols/index.js'
import { ChainUnavailableError, ContractRevertError, RoundAlreadySettledError, SettlementConflictError, TransactionFailedError } from '../errors.js'
import type { ChainConnection } from './connect-chain.js'
import { RETRY_MAX_MS, RETRY_MIN_MS, SETTLEMENT_TIMEOUT_MS } from './constants.js'
import { decodeContractError } from './decode-contract-error.js'
import type { SettlementJournal } from './settlement-journal.js'
import { sleep, waitForConfirmations } from './wait-for-confirmations.js'

export interface RoundSettlement {
  fleet: Hex
  round: bigint
  parentModel: Hex
  newModel: Hex
  contributionsRoot: Hex
  rewardTotal: bigint
  recordHash: Hex
}

export interface SettleRoundParameters {
  gateway: LocalAccount
  ledger: Address
  settlement: RoundSettlement
  journal: SettlementJournal
  signal?: AbortSignal
  /** How long to keep trying through RPC failures and for confirmations (SETTLEMENT_TIMEOUT_MS). */
  timeoutMs?: number
  /** The block the ledger was deployed in (FleetContracts.deployedAt), where event searches start. */
  fromBlock?: bigint
}

export interface SettleRoundReturnType {
  /** `settled`: this call (or this gateway's earlier, interrupted call) settled it. */
  status: 'settled' | 'already-settled'
  transactionHash: Hash | undefined
  blockNumber: bigint | undefined
}

const BYTES32 = ['fleet', 'parentModel', 'newModel', 'contributionsRoot', 'recordHash'] as const

function validate(s: RoundSettlement): void {
  for (const field of BYTES32)
    if (!isHex(s[field], { strict: true }) || s[field].length !== 66) throw new InvalidArgumentError(`settlement.${field}`, 'expected 32 bytes of 0x-prefixed hex')
  if (s.round < 0n || s.round >= MAX_UINT64) throw new InvalidArgumentError('settlement.round', 'expected a uint64 below 2^64 - 1')
  if (s.rewardTotal < 0n || s.rewardTotal >= 2n ** 192n) throw new InvalidArgumentError('settlement.rewardTotal', 'expected a uint192')
}

/** Failures worth another attempt: the node did not answer, or answered with a transport error. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof ViemBaseError)) return false
  return err.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError || e instanceof SocketClosedError) !== null
}

export async function settleRound(connection: ChainConnection, parameters: SettleRoundParameters): Promise<SettleRoundReturnType> {
  const { settlement, signal } = parameters
  validate(settlement)
  const deadline = Date.now() + (parameters.timeoutMs ?? SETTLEMENT_TIMEOUT_MS)
  const log = connection.logger.child({ round: settlement.round.toString() })
  let backoff = RETRY_MIN_MS
  for (;;) {
    signal?.throwIfAborted()
    try {
      return await attempt(connection, parameters, deadline, 0)
    } catch (err) {
      if (!isTransient(err)) throw err
      if (Date.now() + backoff > deadline) throw new ChainUnavailableError(`settlement of round ${settlement.round}`, { cause: err })
      log.warn({ err: (err as Error).message, retryInMs: backoff }, 'chain unreachable; retrying settlement')
      await sleep(backoff, signal)
      backoff = Math.min(backoff * 2, RETRY_MAX_MS)
    }
  }
}

/** Each attempt re-derives its state; a few restarts within one attempt cover races with other gateways. */
const MAX_RESTARTS = 3

async function attempt(connection: ChainConnection, parameters: SettleRoundParameters, deadline: number, restarts: number): Promise<SettleRoundReturnType> {
  const { gateway, ledger, settlement: s, journal, signal } = parameters
  const client = connection.publicClient
  const confirmations = connection.config.confirmations
  const wait = (hash: Hash) => waitForConfirmations(connection, { hash, confirmations, deadline, ...(signal === undefined ? {} : { signal }) })
  const again = () => {
    if (restarts >= MAX_RESTARTS) throw new TransactionFailedError(undefined, `round ${s.round}: the chain kept changing under the settlement`)
    return attempt(connection, parameters, deadline, restarts + 1)
  }

  // 1. Settled already?
  const onChain = await readSettled(connection, ledger, s, parameters.fromBlock ?? 0n)
  const pending = await journal.get(s.round)
  if (onChain !== undefined) {
    const ours = pending !== undefined && onChain.transactionHash === pending.hash
    if (onChain.transactionHash !== undefined) await wait(onChain.transactionHash)
    await journal.delete(s.round)
    return { status: ours ? 'settled' : 'already-settled', transactionHash: onChain.transactionHash, blockNumber: onChain.blockNumber }
  }

  // 2. A transaction of ours in flight?
  if (pending !== undefined) {
    const known = await transactionKnown(connection, pending.hash)
    if (!known) {
      const nonce = await client.getTransactionCount({ address: gateway.address, blockTag: 'latest' })
      if (nonce > pending.nonce) {
        // Its nonce went to another transaction and the round is still unsettled: it can never
        // be mined. Forget it and settle afresh.
        await journal.delete(s.round)
        return again()
      }
      await client.sendRawTransaction({ serializedTransaction: pending.raw })
    }
    const receipt = await wait(pending.hash)
    if (receipt === undefined) throw new TransactionFailedError(pending.hash, 'the node lost the transaction')
    if (receipt.status !== 'success') {
      await journal.delete(s.round)
      const reason = await revertReason(connection, parameters, receipt.blockNumber)
      if (reason instanceof RoundAlreadySettledError) return again()
      throw reason ?? new TransactionFailedError(pending.hash, 'reverted')
    }
    await journal.delete(s.round)
    return { status: 'settled', transactionHash: pending.hash, blockNumber: receipt.blockNumber }
  }

  // 3. Settle.
  const args = [s.fleet, s.round, s.parentModel, s.newModel, s.contributionsRoot, s.rewardTotal, s.recordHash] as const
  try {
    await client.simulateContract({ account: gateway, address: ledger, abi: roundLedgerAbi, functionName: 'settle', args })
  } catch (err) {
    const decoded = decodeContractError(err)
    // Another gateway settled it between our read and our simulation.
    if (decoded instanceof RoundAlreadySettledError) return again()
    throw decoded
  }
  const data = encodeFunctionData({ abi: roundLedgerAbi, functionName: 'settle', args })
  const prepared = await client.prepareTransactionRequest({ account: gateway, to: ledger, data, chain: connection.chain })
  const base = { chainId: connection.chain.id, to: ledger, data, nonce: prepared.nonce, gas: prepared.gas }
  const raw =
    prepared.maxFeePerGas !== undefined
      ? await gateway.signTransaction({ ...base, type: 'eip1559', maxFeePerGas: prepared.maxFeePerGas, maxPriorityFeePerGas: prepared.maxPriorityFeePerGas ?? 0n })
      : await gateway.signTransaction({ ...base, type: 'legacy', gasPrice: prepared.gasPrice ?? 0n })
  const hash = keccak256(raw)
  signal?.throwIfAborted()
  await journal.put({ round: s.round, hash, raw, nonce: prepared.nonce })
  connection.logger.info({ round: s.round.toString(), hash }, 'settlement sent')
  await client.sendRawTransaction({ serializedTransaction: raw })
  return again()
}

async function transactionKnown(connection: ChainConnection, hash: Hash): Promise<boolean> {
  try {
    await connection.publicClient.getTransaction({ hash })
    return true
  } catch (err) {
    if (err instanceof TransactionNotFoundError || err instanceof TransactionReceiptNotFoundError) return false
    throw err
  }
}

interface OnChainSettlement {
  transactionHash: Hash | undefined
  blockNumber: bigint | undefined
}

/** The round's settlement if the ledger holds it, checked field by field against ours. */
async function readSettled(connection: ChainConnection, ledger: Address, s: RoundSettlement, fromBlock: bigint): Promise<OnChainSettlement | undefined> {
  let onChain
  try {
    onChain = await readRoundSettlement(connection.publicClient, { ledger, round: s.round, fromBlock })
  } catch (err) {
    // Keep network failures recognisable to the retry loop.
    throw err instanceof ContractReadError && isTransient(err.cause) ? err.cause : err
  }
  if (!onChain.settled) return undefined
  const [mismatch] = compareSettlement(s, onChain)
  if (mismatch !== undefined) throw new SettlementConflictError(s.round, mismatch.field, mismatch.onChain, mismatch.expected)
  return { transactionHash: onChain.transactionHash, blockNumber: onChain.blockNumber }
}

/** Replays a reverted settlement as a call at its block to learn its custom error. */
async function revertReason(connection: ChainConnection, parameters: SettleRoundParameters, blockNumber: bigint): Promise<ContractRevertError | undefined> {
  const s = parameters.settlement
  try {
    await connection.publicClient.simulateContract({
      account: parameters.gateway,
      address: parameters.ledger,
      abi: roundLedgerAbi,
      functionName: 'settle',
      args: [s.fleet, s.round, s.parentModel, s.newModel, s.contributionsRoot, s.rewardTotal, s.recordHash],
      blockNumber,
    })
  } catch (err) {
    const decoded = decodeContractError(err)
    if (decoded instanceof ContractRevertError) return decoded
  }
  return undefined
}
