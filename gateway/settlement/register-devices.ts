// Moved to hardware/chain/register-devices.ts (shared with provisioning); re-exported for gateway code.
export * from '../../hardware/chain/register-devices.js'
