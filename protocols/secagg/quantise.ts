// Fixed-point quantisation into Z/2^32 (SecAgg, Bonawitz et al. 2017 §4; Bell et al. 2020 §5):
// q(x) = round(clamp(x, −R, R) · scale) mod 2^32. Sums of up to n values stay exact as long as
// n · R · scale < 2^31, and the unmasked sum reads back as a signed 32-bit integer.
import { SecAggParamsError } from '../errors.js'

export interface FixedPoint {
  /** Values are clamped to [−range, range] (the device's clip bound per coordinate). */
  range: number
  /** Units per 1.0; a power of two keeps the dequantised value exact in float64. */
  scale: number
}

/** Throws SecAggParamsError unless n values of the fixed point sum without wrapping. */
export function checkFixedPoint(fp: FixedPoint, devices: number): void {
  if (!(fp.range > 0) || !Number.isFinite(fp.range)) throw new SecAggParamsError('range', 'must be a finite number > 0')
  if (!(fp.scale >= 1) || !Number.isFinite(fp.scale)) throw new SecAggParamsError('scale', 'must be a finite number ≥ 1')
  const worst = devices * Math.round(fp.range * fp.scale)
  if (!(worst < 2 ** 31)) throw new SecAggParamsError('scale', `${devices} devices × range ${fp.range} × scale ${fp.scale} = ${worst} does not fit in a signed 32-bit sum; lower the scale or the range`)
}

export function quantise(values: ArrayLike<number>, fp: FixedPoint): Uint32Array {
  const out = new Uint32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number
    if (!Number.isFinite(v)) throw new SecAggParamsError(`values.${i}`, 'is not finite')
    const clamped = Math.min(fp.range, Math.max(-fp.range, v))
    out[i] = Math.round(clamped * fp.scale) >>> 0
  }
  return out
}

/** The signed sum, back in real units. */
export function dequantise(sum: Uint32Array, fp: FixedPoint): Float64Array {
  const out = new Float64Array(sum.length)
  for (let i = 0; i < sum.length; i++) out[i] = ((sum[i] as number) | 0) / fp.scale
  return out
}
