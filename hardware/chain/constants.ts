// Defaults and caps of the chain client (hardware/chain): connection, confirmations, owner
// operations and the embedded EVM.

/** Blocks a transaction waits for on top of the block that holds it, by default. */
export const DEFAULT_CONFIRMATIONS = 1
/** How often the client polls the node for receipts and blocks. */
export const POLL_INTERVAL_MS = 250
/** One JSON-RPC request's time-out. */
export const RPC_TIMEOUT_MS = 10_000
/** How long an owner operation (deploy, register, revoke) waits for its confirmations. */
export const CONFIRMATION_TIMEOUT_MS = 300_000
/** Devices per registration transaction; FleetRegistry.MAX_BATCH is the contract's own cap. */
export const DEFAULT_REGISTER_BATCH = 100
export const MAX_REGISTER_BATCH = 1000
/** Seconds after settlement from which the owner may sweep a round's unclaimed rewards (90 days). */
export const DEFAULT_CLAIM_EXPIRY_SECONDS = 90n * 24n * 3600n
/** The embedded chain: Hardhat's local chain id, a generous block gas limit, funds per account. */
export const EMBEDDED_CHAIN_ID = 31337
export const EMBEDDED_BLOCK_GAS_LIMIT = 60_000_000n
export const EMBEDDED_ACCOUNT_BALANCE = 10n ** 24n
/** Name and symbol of a fleet's reward token. */
export const REWARD_TOKEN_NAME = 'Counterweight Reward'
export const REWARD_TOKEN_SYMBOL = 'CWR'
