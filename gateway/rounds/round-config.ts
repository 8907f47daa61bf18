// A round's settings, validated once at the boundary; errors name the field.
import { z } from 'zod'
import { RoundConfigError } from '../errors.js'
import { MAX_CLIP_NORM, MAX_DELTA, MAX_NOISE_MULTIPLIER, MIN_DELTA, PRIVACY_MODES } from '../../protocols/index.js'
import { DEFAULT_MIN_UPDATES, DEFAULT_PRIVACY_DELTA, DEFAULT_ROUND_SECONDS, DEFAULT_SELECTION } from './constants.js'

export const roundConfigSchema = z.strictObject({
  /** Participant selection: a fraction of the eligible devices, at least `min`, at most `max`. */
  selection: z
    .strictObject({
      fraction: z.number().gt(0).lte(1).describe('share of the eligible devices selected'),
      min: z.number().int().min(1).describe('fewest devices selected (all, when fewer are eligible)'),
      max: z.number().int().min(1).max(100_000).describe('most devices selected'),
    })
    .describe('participant selection: a fraction of the eligible devices, at least min, at most max (protocols/records/selection.ts); the announcement commits to it')
    .refine((s) => s.min <= s.max, { message: 'min must not exceed max', path: ['min'] })
    .default({ ...DEFAULT_SELECTION }),
  /** Seconds from the announcement to the deadline. */
  durationSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(DEFAULT_ROUND_SECONDS).describe('seconds from the announcement to the deadline'),
  /** Accepted updates after which the round closes before its deadline; absent, it closes early only once every selected device answered. */
  quorum: z.number().int().min(1).optional().describe('accepted updates after which collection closes before the deadline; absent, the round waits until every selected device answered or the deadline passed'),
  /** Fewer accepted updates than this at the deadline: the round aggregates nothing, keeps its parent and is not settled (Flower's min_fit_clients). */
  minUpdates: z.number().int().min(1).default(DEFAULT_MIN_UPDATES).describe("fewest accepted updates a round aggregates (Flower's min_fit_clients): with fewer at the deadline it keeps its parent model and is not settled; quorum must not be below it"),
  strategy: z.strictObject({
    name: z
      .string()
      .min(1)
      .max(64)
      .describe('fedavg, fedprox (mu), fedadam / fedyogi / fedadagrad (lr, beta1, beta2, tau), median (weighted), trimmed-mean (trim, weighted), krum; clipped-<name> clips each update to params.maxNorm first'),
    params: z.record(z.string(), z.number()).default({}).describe("the strategy's numeric parameters, announced with the round"),
  }).describe('how accepted updates are combined into the next model'),
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
  .refine((c) => c.quorum === undefined || c.quorum >= c.minUpdates, { message: 'quorum must not be below minUpdates (the round would close with too few updates to aggregate)', path: ['quorum'] })

export type RoundConfig = z.infer<typeof roundConfigSchema>
export type RoundConfigInput = z.input<typeof roundConfigSchema>

/** Accepted updates that close collection before the deadline: the quorum, or every selected device. */
export const quorumOf = (config: Pick<RoundConfig, 'quorum'>, participants: number): number => config.quorum ?? Math.max(participants, 1)

/** The least number of accepted updates a round aggregates; 1 for rounds stored before the setting existed. */
export const minUpdatesOf = (config: Partial<Pick<RoundConfig, 'minUpdates'>>): number => config.minUpdates ?? DEFAULT_MIN_UPDATES

export function parseRoundConfig(input: unknown): RoundConfig {
  const result = roundConfigSchema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new RoundConfigError(['config', ...(issue?.path ?? []).map(String)].join('.'), issue?.message ?? 'invalid')
  }
  return result.data
}
