// IEEE 754 binary16 conversion for the float16 update encoding. Written out rather than taken
// from @petamoriken/float16 because its per-element getFloat16/setFloat16 ran at ~4 MB/s in
// bench/protocols.ts, two orders of magnitude slower than this; the tests check every result
// against that library's f16round.

const scratch = new Float32Array(1)
const scratchBits = new Uint32Array(scratch.buffer)

/** 2^-1 as float32 bits, the magic addend for subnormal halves (F. Giesen, "float_to_half_fast3_rtne"). */
const DENORM_MAGIC_BITS = ((127 - 15) + (23 - 10) + 1) << 23
const DENORM_MAGIC = new Float32Array(new Uint32Array([DENORM_MAGIC_BITS]).buffer)[0] as number
const F32_INFINITY_BITS = 255 << 23
/** Float32 bits of 65536: the first value whose half is infinite whatever the rounding. */
const F16_OVERFLOW_BITS = (127 + 16) << 23
/** Float32 bits of 2^-14, the smallest normal half. */
const F16_MIN_NORMAL_BITS = 113 << 23

/** The binary16 bits nearest to `value` (round to nearest, ties to even). */
export function toFloat16Bits(value: number): number {
  scratch[0] = value
  let bits = scratchBits[0] as number
  const sign = (bits >>> 16) & 0x8000
  bits &= 0x7fffffff
  let half: number
  if (bits >= F16_OVERFLOW_BITS) {
    half = bits > F32_INFINITY_BITS ? 0x7e00 : 0x7c00
  } else if (bits < F16_MIN_NORMAL_BITS) {
    // Align the 10 mantissa bits at the bottom of a float32 whose addition rounds to nearest even.
    scratchBits[0] = bits
    scratch[0] = (scratch[0] as number) + DENORM_MAGIC
    half = (scratchBits[0] as number) - DENORM_MAGIC_BITS
  } else {
    const mantissaOdd = (bits >>> 13) & 1
    bits += ((15 - 127) << 23) + 0xfff + mantissaOdd
    half = bits >>> 13
  }
  return half | sign
}

/** Every half's float32 value, indexed by its bits: decoding is one table look-up per element. */
export const FLOAT16_TO_FLOAT32: Float32Array = (() => {
  const table = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1
    const exponent = (h >>> 10) & 0x1f
    const mantissa = h & 0x3ff
    table[h] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa === 0
            ? sign * Number.POSITIVE_INFINITY
            : Number.NaN
          : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
  }
  return table
})()

/** True for the bits of ±Infinity and NaN (exponent all ones). */
export const isNonFiniteFloat16 = (bits: number): boolean => (bits & 0x7c00) === 0x7c00
