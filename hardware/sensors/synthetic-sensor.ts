// `synthetic`: a seeded, deterministic signal for tests, demos and benchmarks. Each channel is an
// offset plus sinusoids plus Gaussian noise; anomalies are injected at random (from the same
// seed) and every reading carries its ground-truth label: `'normal'` or the anomaly's kind.
// The same config gives the same readings, bit for bit, at any speed.

import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'
import { z } from 'zod'
import type { DriverCallOptions, SensorOptions } from './abstract-sensor.js'
import { MAX_ANOMALY_LENGTH, MAX_CHANNELS, MAX_SINUSOIDS, NORMAL_LABEL } from './constants.js'
import { nameSchema, parseSensorConfig, rateSchema, sensorIdSchema, unitSchema } from './config.js'
import { PacedSensor, type Sample } from './paced-sensor.js'
import { speedSchema } from './replay-sensor.js'
import type { SensorSupports } from './sensor.js'

export const ANOMALY_KINDS = ['spike', 'shift', 'stuck', 'noise'] as const
export type AnomalyKind = (typeof ANOMALY_KINDS)[number]

const finite = z.number().finite()

export const sinusoidSchema = z.strictObject({
  /** Hz; must stay below the Nyquist rate, checked against `rate` below. */
  frequency: z.number().positive().finite().describe('in Hz; below half of `rate`'),
  amplitude: finite.describe("peak amplitude, in the channel's units"),
  /** Radians. */
  phase: finite.default(0).describe('in radians'),
})

export const syntheticChannelSchema = z.strictObject({
  name: nameSchema.describe('the channel name'),
  unit: unitSchema.default('1').describe("the channel's unit"),
  offset: finite.default(0).describe('constant added to every sample'),
  /** Standard deviation of the Gaussian noise added to every sample. */
  noise: z.number().min(0).finite().default(0).describe('standard deviation of the Gaussian noise added to every sample'),
  sinusoids: z.array(sinusoidSchema).max(MAX_SINUSOIDS).default([]).describe('sine waves summed into the signal'),
})

export const anomaliesSchema = z
  .strictObject({
    /** Chance that an anomaly starts at any normal reading. */
    probability: z.number().min(0).max(0.5).describe('chance that an anomaly starts at any normal reading'),
    kinds: z.array(z.enum(ANOMALY_KINDS)).min(1).max(ANOMALY_KINDS.length).describe('the kinds drawn from, uniformly'),
    minLength: z.number().int().min(1).max(MAX_ANOMALY_LENGTH).default(1).describe('shortest anomaly, in readings'),
    maxLength: z.number().int().min(1).max(MAX_ANOMALY_LENGTH).default(1).describe('longest anomaly, in readings'),
    /** Size of a spike or shift, and the standard deviation of a noise burst, in the channel's units. */
    magnitude: z.number().positive().finite().describe("size of a spike or shift, and the standard deviation of a noise burst, in the channel's units"),
  })
  .refine((a) => a.maxLength >= a.minLength, { message: 'must be ≥ minLength', path: ['maxLength'] })

export const syntheticConfigSchema = z
  .strictObject({
    driver: z.literal('synthetic').describe('selects this driver'),
    id: sensorIdSchema,
    rate: rateSchema.describe('readings per second of signal time'),
    speed: speedSchema.default(1).describe('1 is real time, `"max"` as fast as consumed'),
    /** 32-bit seed of the xoroshiro128+ generator. */
    seed: z.number().int().min(0).max(0xffff_ffff).describe('32-bit seed: the same seed gives the same signal'),
    /** Readings before the sensor ends; absent: endless. */
    length: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional().describe('readings before the sensor ends; absent: endless'),
    channels: z.array(syntheticChannelSchema).min(1).max(MAX_CHANNELS).describe('the generated channels'),
    anomalies: anomaliesSchema.optional().describe('injected anomalies, labelled in the readings; absent: none'),
  })
  .superRefine((config, ctx) => {
    config.channels.forEach((channel, c) =>
      channel.sinusoids.forEach((s, k) => {
        if (s.frequency >= config.rate / 2) {
          ctx.addIssue({ code: 'custom', message: `must be below the Nyquist frequency ${config.rate / 2} Hz`, path: ['channels', c, 'sinusoids', k, 'frequency'] })
        }
      }),
    )
  })

export type SyntheticConfig = z.input<typeof syntheticConfigSchema>
export type SyntheticConfigParsed = z.output<typeof syntheticConfigSchema>

interface ActiveAnomaly {
  readonly kind: AnomalyKind
  readonly channel: number
  remaining: number
  /** The spike's signed size, the shift, or the value a stuck channel holds. */
  readonly value: number
}

/** The deterministic sample sequence of a synthetic config, one `next()` per reading. */
export class SyntheticGenerator {
  readonly #config: SyntheticConfigParsed
  readonly #rng: RandomGenerator
  #index = 0
  #anomaly: ActiveAnomaly | undefined
  readonly #previous: Float32Array
  #spareGaussian: number | undefined

  constructor(config: SyntheticConfigParsed) {
    this.#config = config
    this.#rng = xoroshiro128plus(config.seed)
    this.#previous = new Float32Array(config.channels.length)
  }

  next(): Sample {
    const { channels, rate, anomalies } = this.#config
    const time = this.#index / rate
    const values = new Float32Array(channels.length)
    for (let c = 0; c < channels.length; c++) {
      const channel = channels[c] as (typeof channels)[number]
      let v = channel.offset
      for (const s of channel.sinusoids) v += s.amplitude * Math.sin(2 * Math.PI * s.frequency * time + s.phase)
      if (channel.noise > 0) v += channel.noise * this.#gaussian()
      values[c] = v
    }
    let label = NORMAL_LABEL
    if (anomalies !== undefined) {
      if (this.#anomaly === undefined && this.#uniform() < anomalies.probability) {
        const kind = anomalies.kinds[Math.floor(this.#uniform() * anomalies.kinds.length)] as AnomalyKind
        const channel = Math.floor(this.#uniform() * channels.length)
        const length = anomalies.minLength + Math.floor(this.#uniform() * (anomalies.maxLength - anomalies.minLength + 1))
        const sign = this.#uniform() < 0.5 ? -1 : 1
        const value = kind === 'stuck' ? (this.#previous[channel] as number) : sign * anomalies.magnitude
        this.#anomaly = { kind, channel, remaining: length, value }
      }
      const anomaly = this.#anomaly
      if (anomaly !== undefined) {
        const c = anomaly.channel
        const v = values[c] as number
        switch (anomaly.kind) {
          case 'spike':
          case 'shift':
            values[c] = v + anomaly.value
            break
          case 'stuck':
            values[c] = anomaly.value
            break
          case 'noise':
            values[c] = v + anomalies.magnitude * this.#gaussian()
            break
        }
        label = anomaly.kind
        if (--anomaly.remaining === 0) this.#anomaly = undefined
      }
    }
    this.#previous.set(values)
    this.#index++
    return { values, label }
  }

  #uniform(): number {
    return uniformFloat64(this.#rng)
  }

  /** Box–Muller, using both values it yields. */
  #gaussian(): number {
    const spare = this.#spareGaussian
    if (spare !== undefined) {
      this.#spareGaussian = undefined
      return spare
    }
    const u = 1 - this.#uniform() // (0, 1]: log(0) never happens
    const v = this.#uniform()
    const r = Math.sqrt(-2 * Math.log(u))
    this.#spareGaussian = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
}

/** The first `count` samples of a config, computed without a sensor: the ground truth for tests. */
export function generateSynthetic(config: SyntheticConfig, count: number): { values: Float32Array[]; labels: string[] } {
  const parsed = parseSensorConfig('synthetic', syntheticConfigSchema, config)
  const generator = new SyntheticGenerator(parsed)
  const values: Float32Array[] = []
  const labels: string[] = []
  const n = Math.min(count, parsed.length ?? count)
  for (let i = 0; i < n; i++) {
    const sample = generator.next()
    values.push(sample.values)
    labels.push(sample.label ?? NORMAL_LABEL)
  }
  return { values, labels }
}

const SUPPORTS: SensorSupports = {
  reconnect: false,
  realtime: false,
  speed: true,
  labels: true,
  finite: true,
  badInputStats: false,
}

export class SyntheticSensor extends PacedSensor {
  readonly config: SyntheticConfigParsed
  #generator: SyntheticGenerator | undefined
  #anomalous = 0

  constructor(config: SyntheticConfig, options: SensorOptions = {}) {
    const parsed = parseSensorConfig('synthetic', syntheticConfigSchema, config)
    super({
      id: parsed.id,
      driver: 'synthetic',
      rate: parsed.rate,
      speed: parsed.speed,
      channels: parsed.channels.map((c) => ({ name: c.name, unit: c.unit })),
      supports: SUPPORTS,
      logger: options.logger,
    })
    this.config = parsed
  }

  protected override _stats(): Record<string, number> {
    return { anomalous: this.#anomalous }
  }

  protected override async _load(_options: DriverCallOptions): Promise<void> {
    // Each open starts the sequence again from the seed.
    this.#generator = new SyntheticGenerator(this.config)
    this.#anomalous = 0
  }

  protected override _unload(): void {
    this.#generator = undefined
  }

  protected override _sample(index: number): Sample | undefined {
    if (this.#generator === undefined) return undefined
    if (this.config.length !== undefined && index >= this.config.length) return undefined
    const sample = this.#generator.next()
    if (sample.label !== NORMAL_LABEL) this.#anomalous++
    return sample
  }
}
