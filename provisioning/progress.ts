// Progress of long provisioning runs, reported through an `onProgress` callback so that the CLI
// can draw it (on stderr) and a library caller can log it.

export type ProvisioningPhase =
  /** Deploying the fleet's contracts (`done` of `total` contracts). */
  | 'deploy'
  /** Authorising gateways. */
  | 'authorise'
  /** Checking enrolment requests. */
  | 'verify'
  /** Issuing certificates. */
  | 'certify'
  /** Registering devices on chain. */
  | 'register'
  /** Revoking devices on chain. */
  | 'revoke'
  /** Writing device bundles. */
  | 'write'

export interface ProvisioningProgress {
  phase: ProvisioningPhase
  done: number
  total: number
}

export type ProgressListener = (progress: ProvisioningProgress) => void
