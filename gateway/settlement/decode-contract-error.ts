// Moved to hardware/chain/decode-contract-error.ts (shared with provisioning); re-exported for gateway code.
export * from '../../hardware/chain/decode-contract-error.js'
