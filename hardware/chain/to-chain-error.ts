// Turns any error the chain client (viem) throws into one of the typed `CW_CHAIN_*` errors, so a
// command can print one line (viem's `shortMessage` and `details`) instead of the whole object.
import {
  BaseError as ViemBaseError,
  HttpRequestError,
  InsufficientFundsError as ViemInsufficientFundsError,
  SocketClosedError,
  TimeoutError,
} from 'viem'
import { BaseError } from '../../protocols/errors.js'
import { ChainRequestError, ChainUnavailableError, InsufficientFundsError } from '../errors.js'
import { decodeContractError } from './decode-contract-error.js'

// EDR and Hardhat say "Sender doesn't have enough funds to send tx"; geth and others say "insufficient funds".
const NOT_ENOUGH_FUNDS = /enough funds|insufficient funds|exceeds transaction sender account balance/i

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim()

/** The typed error for a viem error; `undefined` when `err` is not one (it is then not a chain error). */
export function toChainError(err: unknown): BaseError | undefined {
  if (err instanceof BaseError) return err
  if (!(err instanceof ViemBaseError)) return undefined
  const decoded = decodeContractError(err)
  if (decoded instanceof BaseError) return decoded
  const details = oneLine(err.details ?? '')
  const short = oneLine(err.shortMessage).replace(/\.$/, '')
  const problem = details === '' || short.includes(details) ? short : `${short}: ${details}`
  const viem = { viemError: err.name, ...(details === '' ? {} : { viemDetails: details }) }
  const funds = err.walk((e) => e instanceof ViemInsufficientFundsError || (e instanceof ViemBaseError && NOT_ENOUGH_FUNDS.test(e.details ?? '')))
  if (funds !== null || NOT_ENOUGH_FUNDS.test(details)) return new InsufficientFundsError(details === '' ? short : details, { cause: err, details: viem })
  if (err.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError || e instanceof SocketClosedError) !== null) {
    return new ChainUnavailableError(`a JSON-RPC request (${problem})`, { cause: err, details: viem })
  }
  return new ChainRequestError(problem, { cause: err, details: viem })
}
