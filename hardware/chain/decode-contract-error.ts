// Turns a revert of one of the fleet's contracts into the typed error of hardware/errors.ts that
// names it, so callers match on `code` instead of viem's error text.
import { BaseError as ViemBaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex } from 'viem'
import { fleetRegistryAbi, rewardLedgerAbi, rewardsAbi, roundLedgerAbi } from '../../protocols/contracts/index.js'
import {
  AlreadyClaimedError,
  ClaimNotExpiredError,
  ContractArgumentError,
  ContractBatchTooLargeError,
  ContractRevertError,
  DeviceAlreadyRegisteredError,
  DeviceNotRegisteredError,
  DeviceRevokedError,
  InvalidProofError,
  ModelAlreadySettledError,
  NothingToClaimError,
  NotGatewayError,
  NotOwnerError,
  RewardTokenError,
  RoundAlreadySettledError,
  RoundNotSettledError,
  WrongFleetError,
} from '../errors.js'

type ErrorClass = new (errorName: string, args: readonly unknown[], options?: { cause?: unknown }) => ContractRevertError

/** Every custom error the fleet's contracts can revert with, and its class. */
export const CONTRACT_ERRORS: Readonly<Record<string, ErrorClass>> = {
  OwnableUnauthorizedAccount: NotOwnerError,
  OwnableInvalidOwner: ContractArgumentError,
  NotGateway: NotGatewayError,
  WrongFleet: WrongFleetError,
  RoundAlreadySettled: RoundAlreadySettledError,
  ModelAlreadySettled: ModelAlreadySettledError,
  RoundNotSettled: RoundNotSettledError,
  InvalidProof: InvalidProofError,
  AlreadyClaimed: AlreadyClaimedError,
  ClaimNotExpired: ClaimNotExpiredError,
  NothingToClaim: NothingToClaimError,
  ModelNotOfRound: ContractArgumentError,
  SupplyOverflow: RewardTokenError,
  DeviceAlreadyRegistered: DeviceAlreadyRegisteredError,
  DeviceIsRevoked: DeviceRevokedError,
  DeviceNotRegistered: DeviceNotRegisteredError,
  ZeroAddress: ContractArgumentError,
  ZeroFleet: ContractArgumentError,
  ZeroValue: ContractArgumentError,
  EmptyBatch: ContractArgumentError,
  NoClaims: ContractArgumentError,
  LengthMismatch: ContractArgumentError,
  InvalidCertificateHash: ContractArgumentError,
  RoundOutOfRange: ContractArgumentError,
  RewardTotalTooLarge: ContractArgumentError,
  BatchTooLarge: ContractBatchTooLargeError,
  TooManyClaims: ContractBatchTooLargeError,
  ERC20InsufficientBalance: RewardTokenError,
  ERC20InvalidSender: RewardTokenError,
  ERC20InvalidReceiver: RewardTokenError,
  ERC20InsufficientAllowance: RewardTokenError,
  ERC20InvalidApprover: RewardTokenError,
  ERC20InvalidSpender: RewardTokenError,
}

/** The ABI entries of every custom error of the fleet's contracts, deduplicated by name. */
export const contractErrorsAbi = [...fleetRegistryAbi, ...roundLedgerAbi, ...rewardsAbi, ...rewardLedgerAbi].filter(
  (item, i, all) => item.type === 'error' && all.findIndex((o) => o.type === 'error' && o.name === item.name) === i,
)

const typed = (errorName: string, args: readonly unknown[], cause: unknown): ContractRevertError => {
  const Class = CONTRACT_ERRORS[errorName] ?? ContractRevertError
  return new Class(errorName, args, { cause })
}

const isRevertData = (data: unknown): data is Hex => typeof data === 'string' && /^0x[0-9a-fA-F]{8}/.test(data)

/** Decodes raw revert data (`0x` + selector + args); undefined when it is no known custom error. */
export function decodeRevertData(data: Hex, cause?: unknown): ContractRevertError | undefined {
  try {
    const { errorName, args } = decodeErrorResult({ abi: contractErrorsAbi, data })
    return typed(errorName, args ?? [], cause)
  } catch {
    return undefined
  }
}

/**
 * The typed error for `err` when it is a revert of one of the fleet's contracts; otherwise `err`
 * itself, unchanged (a network failure stays a network failure).
 */
export function decodeContractError(err: unknown): unknown {
  if (!(err instanceof ViemBaseError)) return err
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError)
  if (reverted instanceof ContractFunctionRevertedError) {
    if (reverted.data !== undefined) return typed(reverted.data.errorName, reverted.data.args ?? [], err)
    if (reverted.raw !== undefined) return decodeRevertData(reverted.raw, err) ?? err
  }
  // A revert reported by eth_estimateGas or eth_sendRawTransaction carries its data on the RPC error.
  // Nodes put it at `error.data` or, like Hardhat's, at `error.data.data`.
  const dataOf = (e: unknown): unknown => {
    const data = (e as { data?: unknown }).data
    return typeof data === 'object' && data !== null ? (data as { data?: unknown }).data : data
  }
  const withData = err.walk((e) => isRevertData(dataOf(e)))
  const data = withData === null ? undefined : dataOf(withData)
  if (isRevertData(data)) return decodeRevertData(data, err) ?? err
  return err
}
