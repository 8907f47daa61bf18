// Why the gateway refuses an update: one stable reason per failed check, carried in the signed
// Receipt (`reason`) and counted. docs/rejections.md explains each.

export const REJECTION_REASONS = [
  'fleet-mismatch',
  'certificate-invalid',
  'certificate-expired',
  'peer-unbound',
  'device-unregistered',
  'revoked',
  'signature-invalid',
  'round-unknown',
  'round-closed',
  'not-selected',
  'base-model-mismatch',
  'attestation-stale',
  'attestation-future',
  'replay',
  'sample-count',
  'update-hash-mismatch',
  'update-malformed',
  'update-shape',
  'update-norm',
] as const

export type RejectionReason = (typeof REJECTION_REASONS)[number]
