// The Gaussian mechanism on a model update: clip the whole update to L2 norm C, then add
// independent N(0, (σ·C)²) noise to every coordinate (Abadi et al. 2016, Algorithm 1, applied to
// a device's update as in McMahan et al. 2018, "Learning Differentially Private Recurrent
// Language Models"). Noise comes from the platform's CSPRNG unless a test gives its own source.
import { InvalidArgumentError } from '../errors.js'
import type { NamedTensor } from '../tensors/named-tensor.js'
import { MAX_CLIP_NORM, MAX_NOISE_MULTIPLIER } from './constants.js'

/** Draws one standard normal variate. */
export type GaussianSource = () => number

const BATCH = 1024
const TWO_POW_32 = 2 ** 32

/**
 * Standard normal variates from crypto.getRandomValues by the Box–Muller transform, two per pair
 * of 53-bit uniforms (the open interval (0, 1], so log never sees 0).
 */
export function cryptoGaussian(): GaussianSource {
  const words = new Uint32Array(BATCH * 4)
  let at = words.length
  let spare: number | undefined
  const uniform = (): number => {
    if (at + 2 > words.length) {
      globalThis.crypto.getRandomValues(words)
      at = 0
    }
    const hi = (words[at++] as number) >>> 5 // 27 bits
    const lo = (words[at++] as number) >>> 6 // 26 bits
    return (hi * 67108864 + lo + 1) / 9007199254740992
  }
  return () => {
    if (spare !== undefined) {
      const s = spare
      spare = undefined
      return s
    }
    const r = Math.sqrt(-2 * Math.log(uniform()))
    const theta = 2 * Math.PI * uniform()
    spare = r * Math.sin(theta)
    return r * Math.cos(theta)
  }
}

/** A reproducible source for benchmarks and tests only (xorshift128+ over a seed; not for privacy). */
export function seededGaussian(seed: number): GaussianSource {
  let s0 = (seed >>> 0) ^ 0x9e3779b9
  let s1 = (Math.imul(seed, 0x85ebca6b) >>> 0) ^ 0xc2b2ae35
  const next32 = (): number => {
    let x = s0
    const y = s1
    s0 = y
    x ^= x << 23
    x ^= x >>> 17
    x ^= y ^ (y >>> 26)
    s1 = x >>> 0
    return (s0 + s1) >>> 0
  }
  let spare: number | undefined
  return () => {
    if (spare !== undefined) {
      const s = spare
      spare = undefined
      return s
    }
    const u1 = (next32() + 1) / (TWO_POW_32 + 1)
    const u2 = next32() / TWO_POW_32
    const r = Math.sqrt(-2 * Math.log(u1))
    spare = r * Math.sin(2 * Math.PI * u2)
    return r * Math.cos(2 * Math.PI * u2)
  }
}

export interface PrivatiseUpdateParameters {
  clipNorm: number
  noiseMultiplier: number
  gaussian?: GaussianSource
}

export interface PrivatiseUpdateReturnType {
  delta: NamedTensor<'float32'>[]
  /** L2 norm of the update before clipping. */
  norm: number
  clipped: boolean
  /** Standard deviation of the noise added to each coordinate: σ·C. */
  noiseStd: number
}

/** Clips `delta` to `clipNorm` and adds N(0, (σ·C)²) to each coordinate; the input is not changed. */
export function privatiseUpdate(delta: readonly NamedTensor<'float32'>[], { clipNorm, noiseMultiplier, gaussian = cryptoGaussian() }: PrivatiseUpdateParameters): PrivatiseUpdateReturnType {
  if (!(clipNorm > 0 && clipNorm <= MAX_CLIP_NORM)) throw new InvalidArgumentError('clipNorm', `must be in (0, ${MAX_CLIP_NORM}]`)
  if (!(noiseMultiplier >= 0 && noiseMultiplier <= MAX_NOISE_MULTIPLIER)) throw new InvalidArgumentError('noiseMultiplier', `must be in [0, ${MAX_NOISE_MULTIPLIER}]`)
  let squared = 0
  for (const t of delta) for (const v of t.data) squared += v * v
  const norm = Math.sqrt(squared)
  const scale = norm > clipNorm ? clipNorm / norm : 1
  const noiseStd = noiseMultiplier * clipNorm
  const out = delta.map((t) => {
    const data = new Float32Array(t.data.length)
    for (let i = 0; i < data.length; i++) data[i] = (t.data[i] as number) * scale + noiseStd * gaussian()
    return { ...t, shape: [...t.shape], data }
  })
  return { delta: out, norm, clipped: scale < 1, noiseStd }
}
