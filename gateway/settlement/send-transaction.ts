// Moved to hardware/chain/send-transaction.ts (shared with provisioning); re-exported for gateway code.
export * from '../../hardware/chain/send-transaction.js'
