// RoundAnnouncement.privacy: the differential privacy a round runs under, signed with the rest
// of the announcement. Empty: no DP. Otherwise canonical JSON with its keys in order
// `clipNorm`, `delta`, `mode`, `noiseMultiplier`, `sampleRate`:
//   mode             `device` (each device clips and noises its own update before signing it) or
//                    `central` (the gateway clips each update and noises the aggregate);
//   clipNorm         the L2 bound C of one device's whole update;
//   noiseMultiplier  σ: the noise's standard deviation is σ·C (device) or σ·C/n on the mean of n (central);
//   sampleRate       q: the chance that a device takes part in the round, from the selection;
//   delta            the δ at which the round record states each device's ε.
import { z } from 'zod'
import { InvalidArgumentError } from '../errors.js'
import { MAX_CLIP_NORM, MAX_DELTA, MAX_NOISE_MULTIPLIER, MAX_ROUND_PRIVACY_LENGTH, MIN_DELTA, PRIVACY_MODES } from './constants.js'

export const roundPrivacySchema = z.strictObject({
  mode: z.enum(PRIVACY_MODES),
  clipNorm: z.number().gt(0).max(MAX_CLIP_NORM),
  noiseMultiplier: z.number().gt(0).max(MAX_NOISE_MULTIPLIER),
  sampleRate: z.number().gt(0).lte(1),
  delta: z.number().min(MIN_DELTA).max(MAX_DELTA),
})

export type RoundPrivacy = z.infer<typeof roundPrivacySchema>

const issueOf = (error: z.ZodError): { field: string; problem: string } => ({
  field: error.issues[0]?.path.join('.') ?? '',
  problem: error.issues[0]?.message ?? 'invalid',
})

/** The announced form of `privacy` (undefined: no DP, the empty string). */
export function encodeRoundPrivacy(privacy: RoundPrivacy | undefined): string {
  if (privacy === undefined) return ''
  const parsed = roundPrivacySchema.safeParse(privacy)
  if (!parsed.success) {
    const { field, problem } = issueOf(parsed.error)
    throw new InvalidArgumentError(`privacy.${field}`, problem)
  }
  const p = parsed.data
  return JSON.stringify({ clipNorm: p.clipNorm, delta: p.delta, mode: p.mode, noiseMultiplier: p.noiseMultiplier, sampleRate: p.sampleRate })
}

/** Reads an announced `privacy` back: undefined for none; InvalidArgumentError when it is not what encodeRoundPrivacy writes. */
export function parseRoundPrivacy(text: string): RoundPrivacy | undefined {
  if (text === '') return undefined
  if (text.length > MAX_ROUND_PRIVACY_LENGTH) throw new InvalidArgumentError('privacy', `is longer than ${MAX_ROUND_PRIVACY_LENGTH} characters`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new InvalidArgumentError('privacy', 'is not JSON')
  }
  const parsed = roundPrivacySchema.safeParse(value)
  if (!parsed.success) {
    const { field, problem } = issueOf(parsed.error)
    throw new InvalidArgumentError(`privacy.${field}`, problem)
  }
  if (encodeRoundPrivacy(parsed.data) !== text) throw new InvalidArgumentError('privacy', 'is not in canonical form')
  return parsed.data
}
