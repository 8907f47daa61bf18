// Moved to hardware/chain/connect-chain.ts (shared with provisioning); re-exported for gateway code.
export * from '../../hardware/chain/connect-chain.js'
