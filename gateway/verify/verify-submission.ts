// The gateway's verification pipeline. Checks run cheapest and most fundamental first, and no
// content is trusted before the signatures over it have been checked: fleet, certificate (signed
// by the fleet owner, in its validity window), peer binding, registry, the attestation's
// signature, round, selection, freshness, replay and the sample count — everything the header
// (attestation and certificate) shows, `verifyHeader` — then the update bytes against the signed
// hash, and only then the update's decoding, shapes and norm.
import { isAddressEqual, type Address, type Hex } from 'viem'
import {
  BaseError,
  certifiedMaxSamples,
  contentId,
  decodeUpdate,
  hashMessage,
  verifyMessage,
  type DecodedUpdate,
  type FleetDomain,
  type UpdateSubmission,
} from '../../protocols/index.js'
import type { RejectionReason } from './reasons.js'
import type { DeviceRegistry } from './registry.js'

export interface TensorSpec {
  name: string
  shape: readonly number[]
}

export interface OpenRound {
  round: bigint
  /** Whether the round still takes updates (it stops at its deadline or when it aggregates). */
  open: boolean
  baseModel: Hex
  /** The devices selected for the round (its announcement commits to them); absent: every device may contribute. */
  participants?: readonly Address[]
}

export interface VerificationLimits {
  /** Largest L2 norm of an update's delta, over all tensors. */
  maxNorm: number
  minSamples: number
  /** Most samples any device may claim; a device whose certificate says less may claim only that (certifiedMaxSamples). */
  maxSamples: number
  /** How old an attestation may be, and how far ahead of the gateway's clock, in seconds. */
  maxAgeSeconds: number
  maxSkewSeconds: number
}

export interface VerificationContext {
  domain: FleetDomain
  fleet: Hex
  owner: Address
  registry: DeviceRegistry
  /** The round currently run, or undefined between rounds. */
  round: OpenRound | undefined
  /** The model's trainable tensors, in canonical (name) order. */
  model: readonly TensorSpec[]
  limits: VerificationLimits
  /** True when an update with this attestation hash was already accepted. */
  seen(attestationHash: Hex): Promise<boolean>
  /** Unix seconds. */
  now(): number
}

export type Verdict =
  | { accepted: true; attestationHash: Hex; device: Address; update: DecodedUpdate; norm: number }
  | { accepted: false; reason: RejectionReason; detail: string; attestationHash?: Hex; device?: Address }

const reject = (reason: RejectionReason, detail: string, extra: { attestationHash?: Hex; device?: Address } = {}): Verdict => ({
  accepted: false,
  reason,
  detail,
  ...extra,
})

/** What the header of a submission (its attestation and certificate) shows, checked; the update is not looked at. */
export type HeaderVerdict =
  | { accepted: true; attestationHash: Hex; device: Address }
  | { accepted: false; reason: RejectionReason; detail: string; attestationHash?: Hex; device?: Address }

export async function verifyHeader(header: Pick<UpdateSubmission, 'attestation' | 'certificate'>, remotePeer: string, ctx: VerificationContext): Promise<HeaderVerdict> {
  const { attestation, certificate } = header
  const a = attestation.message
  const c = certificate.message
  const now = BigInt(Math.floor(ctx.now()))

  if (a.fleet.toLowerCase() !== ctx.fleet.toLowerCase() || c.fleet.toLowerCase() !== ctx.fleet.toLowerCase())
    return reject('fleet-mismatch', `attestation or certificate names another fleet than ${ctx.fleet}`)

  if (!verifyMessage('DeviceCertificate', { domain: ctx.domain, message: c, signature: certificate.signature, signer: ctx.owner }))
    return reject('certificate-invalid', 'the certificate is not signed by the fleet owner')
  if (!isAddressEqual(c.device, a.device)) return reject('certificate-invalid', 'the certificate is for another device')
  if (now < c.validFrom || now > c.validUntil) return reject('certificate-expired', `valid ${c.validFrom}..${c.validUntil}, now ${now}`)

  if (c.peerId !== remotePeer) return reject('peer-unbound', `the certificate binds peer ${c.peerId}, the stream came from ${remotePeer}`)

  const status = await ctx.registry.status(a.device)
  if (status === 'revoked') return reject('revoked', `${a.device} is revoked`)
  if (status !== 'registered') return reject('device-unregistered', `${a.device} is not registered`)

  const attestationHash = hashMessage('UpdateAttestation', ctx.domain, a)
  const known = { attestationHash, device: a.device }
  if (!verifyMessage('UpdateAttestation', { domain: ctx.domain, message: a, signature: attestation.signature }))
    return reject('signature-invalid', 'the attestation signature does not recover the device address', known)

  const round = ctx.round
  if (round === undefined || a.round > round.round) return reject('round-unknown', `no round ${a.round} is running`, known)
  if (a.round < round.round || !round.open) return reject('round-closed', `round ${a.round} takes no more updates`, known)
  if (round.participants !== undefined && !round.participants.some((p) => isAddressEqual(p, a.device)))
    return reject('not-selected', `${a.device} is not among the ${round.participants.length} devices selected for round ${round.round}`, known)
  if (a.baseModel.toLowerCase() !== round.baseModel.toLowerCase()) return reject('base-model-mismatch', `round ${round.round} trains ${round.baseModel}`, known)

  if (a.time + BigInt(ctx.limits.maxAgeSeconds) < now) return reject('attestation-stale', `made at ${a.time}, now ${now}`, known)
  if (a.time > now + BigInt(ctx.limits.maxSkewSeconds)) return reject('attestation-future', `made at ${a.time}, now ${now}`, known)
  if (await ctx.seen(attestationHash)) return reject('replay', 'this attestation was already accepted', known)

  const certified = certifiedMaxSamples(c)
  const maxSamples = certified === undefined ? BigInt(ctx.limits.maxSamples) : minBigInt(certified, BigInt(ctx.limits.maxSamples))
  if (a.sampleCount < BigInt(ctx.limits.minSamples) || a.sampleCount > maxSamples)
    return reject(
      'sample-count',
      `${a.sampleCount} samples, allowed ${ctx.limits.minSamples}..${maxSamples}${certified === undefined ? '' : ' (the certificate\'s bound)'}`,
      known,
    )

  return { accepted: true, attestationHash, device: a.device }
}

export async function verifySubmission(submission: UpdateSubmission, remotePeer: string, ctx: VerificationContext): Promise<Verdict> {
  const header = await verifyHeader(submission, remotePeer, ctx)
  if (!header.accepted) return header
  const known = { attestationHash: header.attestationHash, device: header.device }

  if (contentId(submission.update).toLowerCase() !== submission.attestation.message.updateHash.toLowerCase())
    return reject('update-hash-mismatch', 'the update bytes do not hash to the signed updateHash', known)

  let update: DecodedUpdate
  try {
    update = decodeUpdate(submission.update)
  } catch (err) {
    if (err instanceof BaseError) return reject('update-malformed', err.message, known)
    throw err
  }
  const shapes = (ts: readonly TensorSpec[]) => ts.map((t) => `${t.name}[${t.shape.join(',')}]`).join(' ')
  if (shapes(update.tensors) !== shapes(ctx.model)) return reject('update-shape', `expected ${shapes(ctx.model)}, got ${shapes(update.tensors)}`, known)

  let sum = 0
  for (const t of update.tensors) for (const v of t.data) sum += v * v
  const norm = Math.sqrt(sum)
  if (norm > ctx.limits.maxNorm) return reject('update-norm', `norm ${norm.toPrecision(6)} exceeds ${ctx.limits.maxNorm}`, known)

  return { accepted: true, attestationHash: header.attestationHash, device: header.device, update, norm }
}

const minBigInt = (a: bigint, b: bigint): bigint => (a < b ? a : b)
