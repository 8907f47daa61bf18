// The chain client shared by the gateway (settlement) and provisioning: one connection to any EVM
// JSON-RPC node or the embedded EVM, a viem account over a key-store Signer, confirmed writes
// whose reverts surface as typed errors, and the fleet owner's operations on its contracts.
export * from './constants.js'
export { chainConfigSchema, connectChain, parseChainConfig, type ChainConfig, type ChainConnection, type ConnectChainParameters, type ResolvedChainConfig } from './connect-chain.js'
export { startEmbeddedChain, type EmbeddedChain, type StartEmbeddedChainParameters } from './embedded-chain.js'
export { signerToAccount, type SignerToAccountParameters } from './signer-account.js'
export { toChainError } from './to-chain-error.js'
export { fundAccount, type FundAccountParameters, type FundAccountReturnType } from './fund-account.js'
export { CONTRACT_ERRORS, contractErrorsAbi, decodeContractError, decodeRevertData } from './decode-contract-error.js'
export { deployAndConfirm, walletFor, writeAndConfirm, type DeployParameters, type WriteParameters } from './send-transaction.js'
export { waitForConfirmations, type WaitForConfirmationsParameters } from './wait-for-confirmations.js'
export { deployFleet, type DeployFleetParameters, type FleetContracts, type RewardLeaves } from './deploy-fleet.js'
export {
  registerDevices,
  revokeDevices,
  setGateway,
  type DeviceRegistration,
  type RegisterDevicesParameters,
  type RegisterDevicesReturnType,
  type RevokeDevicesParameters,
  type SetGatewayParameters,
} from './register-devices.js'
