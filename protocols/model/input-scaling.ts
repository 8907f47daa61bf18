// How a raw feature value becomes a model input, the one definition every party applies: the
// agent to each sensor window before inference and before it stores the sample, the gateway to
// its validation set before it scores a model. A model is only comparable across the fleet when
// both sides scale identically, so neither side writes its own formula.
//
// input = (raw - baseline) / gain, the same form as a replay channel's unit conversion (WFDB
// header semantics, hardware/sensors/replay-sensor.ts). Scale at one place only: a replay channel
// with `gain: 16` and an input scaling of 16 would scale twice.
import { z } from 'zod'
import { InvalidArgumentError } from '../errors.js'

export const inputScalingSchema = z.strictObject({
  /** Subtracted first. */
  baseline: z.number().finite().default(0).describe('subtracted from every raw value first'),
  /** Then divided by; must not be 0. */
  gain: z
    .number()
    .finite()
    .refine((g) => g !== 0, 'must not be 0')
    .default(1)
    .describe('then divided by; must not be 0'),
})

export type InputScalingInput = z.input<typeof inputScalingSchema>
export type InputScaling = z.output<typeof inputScalingSchema>

/** No scaling: inputs are the raw values. */
export const IDENTITY_INPUT_SCALING: Readonly<InputScaling> = Object.freeze({ baseline: 0, gain: 1 })

/**
 * The digits data set (data/digits.csv.gz, scikit-learn's 8×8 digits): pixel values 0..16 become
 * 0..1. The reference digits models (buildDigitsMlp) are trained and evaluated on this scale.
 */
export const DIGITS_INPUT_SCALING: Readonly<InputScaling> = Object.freeze({ baseline: 0, gain: 16 })

/** Scales `values` into a new array (or into `out`); throws when the result is not finite. */
export function scaleInputs(values: ArrayLike<number>, scaling: Readonly<InputScaling>, out: Float32Array = new Float32Array(values.length)): Float32Array {
  const { baseline, gain } = scaling
  if (!Number.isFinite(baseline) || !Number.isFinite(gain) || gain === 0) throw new InvalidArgumentError('scaling', 'baseline and gain must be finite, gain non-zero')
  if (out.length !== values.length) throw new InvalidArgumentError('out', `must hold ${values.length} values`)
  for (let i = 0; i < values.length; i++) {
    const v = ((values[i] as number) - baseline) / gain
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`values.${i}`, 'is not finite after scaling')
    out[i] = v
  }
  return out
}

/** True when `scaling` changes nothing (lets callers skip a copy). */
export const isIdentityScaling = (scaling: Readonly<InputScaling>): boolean => scaling.baseline === 0 && scaling.gain === 1
