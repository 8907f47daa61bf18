// Polls for a transaction's receipt and then for `confirmations` blocks (the one holding it
// counts as the first). Network failures are thrown to the caller, which decides whether to retry.
import { TransactionReceiptNotFoundError, type Hash, type TransactionReceipt } from 'viem'
import { ConfirmationTimeoutError } from '../errors.js'
import type { ChainConnection } from './connect-chain.js'

export interface WaitForConfirmationsParameters {
  hash: Hash
  confirmations: number
  signal?: AbortSignal
  /** Give up (return undefined) when the transaction is unknown to the node for this long. */
  notFoundTimeoutMs?: number
  /** Throw ConfirmationTimeoutError when not confirmed by then (epoch ms). */
  deadline?: number
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })

export { sleep }

/** The receipt once confirmed; undefined when the node does not know the transaction in time. */
export async function waitForConfirmations(
  connection: ChainConnection,
  parameters: WaitForConfirmationsParameters,
): Promise<TransactionReceipt | undefined> {
  const { hash, confirmations, signal } = parameters
  const client = connection.publicClient
  const interval = connection.config.pollIntervalMs
  const started = Date.now()
  for (;;) {
    signal?.throwIfAborted()
    if (parameters.deadline !== undefined && Date.now() > parameters.deadline) throw new ConfirmationTimeoutError(hash, parameters.deadline - started)
    let receipt: TransactionReceipt | undefined
    try {
      receipt = await client.getTransactionReceipt({ hash })
    } catch (err) {
      if (!(err instanceof TransactionReceiptNotFoundError)) throw err
    }
    if (receipt !== undefined) {
      const head = await client.getBlockNumber({ cacheTime: 0 })
      const have = head - receipt.blockNumber + 1n
      if (have >= BigInt(confirmations)) return receipt
      // The embedded EVM mines only on transactions and serves this process alone: mine the rest.
      if (connection.embedded !== undefined) await connection.embedded.request('hardhat_mine', [`0x${(BigInt(confirmations) - have).toString(16)}`])
      else await sleep(interval, signal)
      continue
    }
    if (parameters.notFoundTimeoutMs !== undefined && Date.now() - started > parameters.notFoundTimeoutMs) {
      const tx = await client.getTransaction({ hash }).catch(() => undefined)
      if (tx === undefined) return undefined
    }
    await sleep(interval, signal)
  }
}
