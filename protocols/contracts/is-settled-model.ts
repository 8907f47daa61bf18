// Model provenance: whether an authorised gateway settled a model on the fleet's RoundLedger. Every
// party computes it the same way (an agent before it hot-swaps to a new model, an auditor), so it
// lives here as a pure read through a viem client the caller brings.
import { isAddress, isHex, type Address, type Client, type Hex } from 'viem'
import { readContract } from 'viem/actions'
import { ContractReadError, InvalidArgumentError } from '../errors.js'
import { roundLedgerAbi } from './artifacts.js'

export interface IsSettledModelParameters {
  /** The fleet's RoundLedger. */
  ledger: Address
  /** sha256 of the model's canonical bytes, 0x-prefixed. */
  model: Hex
  signal?: AbortSignal
}

export type IsSettledModelReturnType = { settled: false } | { settled: true; round: bigint }

/**
 * Asks the ledger whether some round settled `model`, and which. A node that cannot be reached or
 * a ledger that does not answer throws ContractReadError; a model nobody settled is `settled: false`.
 */
export async function isSettledModel(client: Client, parameters: IsSettledModelParameters): Promise<IsSettledModelReturnType> {
  const { ledger, model, signal } = parameters
  if (!isAddress(ledger, { strict: false })) throw new InvalidArgumentError('ledger', 'expected a 20-byte address')
  if (!isHex(model, { strict: true }) || model.length !== 66) throw new InvalidArgumentError('model', 'expected 32 bytes of 0x-prefixed hex')
  signal?.throwIfAborted()
  let result: readonly [boolean, bigint]
  try {
    result = await readContract(client, { address: ledger, abi: roundLedgerAbi, functionName: 'roundOfModel', args: [model] })
  } catch (err) {
    throw new ContractReadError('RoundLedger.roundOfModel', { cause: err })
  }
  signal?.throwIfAborted()
  return result[0] ? { settled: true, round: result[1] } : { settled: false }
}
