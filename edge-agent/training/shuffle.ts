// Seeded permutations for the order of samples (Fisher–Yates over xoroshiro128+), so that a
// training run is the same for the same seed.
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'

export function seededGenerator(seed: number): RandomGenerator {
  return xoroshiro128plus(seed)
}

/** A random permutation of 0..n-1 drawn from `rng`. */
export function permutation(n: number, rng: RandomGenerator): Uint32Array {
  const out = new Uint32Array(n)
  for (let i = 0; i < n; i++) out[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i)
    const t = out[i] as number
    out[i] = out[j] as number
    out[j] = t
  }
  return out
}
