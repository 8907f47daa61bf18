// Seeded weight initialisation: the same seed gives the same weights, bit for bit, everywhere
// (xoroshiro128+ from pure-rand, the generator the synthetic sensor uses).
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'
import { InvalidArgumentError } from '../errors.js'
import { namedTensor, type NamedTensor } from '../tensors/named-tensor.js'

export class WeightInit {
  readonly #rng: RandomGenerator

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new InvalidArgumentError('seed', 'must be an integer in 0..2^32-1')
    this.#rng = xoroshiro128plus(seed)
  }

  /** U(-bound, bound). */
  uniform(name: string, shape: readonly number[], bound: number): NamedTensor<'float32'> {
    const n = shape.reduce((a, b) => a * b, 1)
    const data = new Float32Array(n)
    for (let i = 0; i < n; i++) data[i] = (2 * uniformFloat64(this.#rng) - 1) * bound
    return namedTensor(name, 'float32', shape, data)
  }

  /** He (Kaiming) uniform, for layers followed by a ReLU: bound √(6 / fan_in) (He et al. 2015, §2.2). */
  he(name: string, shape: readonly number[], fanIn: number): NamedTensor<'float32'> {
    return this.uniform(name, shape, Math.sqrt(6 / fanIn))
  }

  /** Glorot (Xavier) uniform: bound √(6 / (fan_in + fan_out)) (Glorot & Bengio 2010, eq. 16). */
  glorot(name: string, shape: readonly number[], fanIn: number, fanOut: number): NamedTensor<'float32'> {
    return this.uniform(name, shape, Math.sqrt(6 / (fanIn + fanOut)))
  }

  zeros(name: string, shape: readonly number[]): NamedTensor<'float32'> {
    return namedTensor(name, 'float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)))
  }
}
