// Caps that mirror the fleet contracts (protocols/contracts/src).

/** Rewards.MAX_CLAIMS: the most rounds one claim transaction may carry. */
export const MAX_CLAIMS_PER_TRANSACTION = 256
