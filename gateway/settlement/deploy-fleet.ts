// Moved to hardware/chain/deploy-fleet.ts (shared with provisioning); re-exported for gateway code.
export * from '../../hardware/chain/deploy-fleet.js'
