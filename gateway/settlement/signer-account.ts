// Moved to hardware/chain/signer-account.ts (shared with provisioning); re-exported for gateway code.
export * from '../../hardware/chain/signer-account.js'
