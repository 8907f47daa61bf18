// A round's settings, validated once at the boundary; errors name the field.
import { z } from 'zod'
import { RoundConfigError } from '../errors.js'
import { MAX_CLIP_NORM, MAX_DELTA, MAX_NOISE_MULTIPLIER, MIN_DELTA, PRIVACY_MODES } from '../../protocols/index.js'
import { DEFAULT_PRIVACY_DELTA, DEFAULT_QUORUM, DEFAULT_ROUND_SECONDS, DEFAULT_SELECTION } from './constants.js'

export const roundConfigSchema = z.strictObject({
  /** Participant selection: a fraction of the eligible devices, at least `min`, at most `max`. */
  selection: z
    .strictObject({
      fraction: z.number().gt(0).lte(1),
      min: z.number().int().min(1),
      max: z.number().int().min(1).max(100_000),
    })
    .refine((s) => s.min <= s.max, { message: 'min must not exceed max', path: ['min'] })
    .default({ ...DEFAULT_SELECTION }),
  /** Seconds from the announcement to the deadline. */
  durationSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(DEFAULT_ROUND_SECONDS),
  /** Accepted updates after which the round closes before its deadline. */
  quorum: z.number().int().min(1).default(DEFAULT_QUORUM),
  strategy: z.strictObject({
    name: z.string().min(1).max(64),
    params: z.record(z.string(), z.number()).default({}),
  }),
  /**
   * Differential privacy for the round (docs: README "Privacy"). `device`: every device clips its
   * update to `clipNorm` and adds N(0, (noiseMultiplier·clipNorm)²) noise before signing it;
   * `central`: the gateway clips each update and noises the mean. `delta` is the δ at which the
   * round record states each device's ε. `amplifyBySelection` accounts with the selected fraction
   * of eligible devices as the sample rate; the selection is public, so by default each round a
   * device takes part in counts in full (sample rate 1).
   */
  privacy: z
    .strictObject({
      mode: z.enum(PRIVACY_MODES).describe('device: each device clips and noises its update before signing; central: the gateway clips each update and noises the mean (fedavg, fedprox only)'),
      clipNorm: z.number().gt(0).max(MAX_CLIP_NORM).describe('L2 bound C of one device’s whole update'),
      noiseMultiplier: z.number().gt(0).max(MAX_NOISE_MULTIPLIER).describe('σ: noise standard deviation σ·C per coordinate (device), σ·C/n on the mean of n (central)'),
      delta: z.number().min(MIN_DELTA).max(MAX_DELTA).default(DEFAULT_PRIVACY_DELTA).describe('the δ at which the round record states each device’s ε'),
      amplifyBySelection: z.boolean().default(false).describe('account with the selected fraction of eligible devices as the sample rate (sound only where the selection is secret; it is published, so default: 1)'),
    })
    .optional()
    .describe('differential privacy for the round; absent: none'),
})

export type RoundConfig = z.infer<typeof roundConfigSchema>
export type RoundConfigInput = z.input<typeof roundConfigSchema>

export function parseRoundConfig(input: unknown): RoundConfig {
  const result = roundConfigSchema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new RoundConfigError(['config', ...(issue?.path ?? []).map(String)].join('.'), issue?.message ?? 'invalid')
  }
  return result.data
}
