// Moved to hardware/chain/embedded-chain.ts (shared with provisioning); re-exported for gateway code.
export * from '../../hardware/chain/embedded-chain.js'
