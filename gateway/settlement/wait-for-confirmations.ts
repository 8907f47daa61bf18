// Moved to hardware/chain/wait-for-confirmations.ts (shared with provisioning); re-exported for gateway code.
export * from '../../hardware/chain/wait-for-confirmations.js'
