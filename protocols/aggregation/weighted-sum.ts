// The hot loop of the averaging strategies: acc[j] = acc[j] + w·x[j], float32 in, float64 sums,
// with the finiteness check of x done in the same pass. Two backends compute identical bits: the
// WebAssembly SIMD kernel (weighted-sum-wasm.ts) and the plain JavaScript loop it falls back to
// where WebAssembly SIMD is unavailable. Each coordinate sees the same operations in the same
// order in both (one rounded multiply, then one rounded add, never fused), so results do not
// depend on which one ran.
import { InvalidArgumentError } from '../errors.js'
import { firstNonFinite } from '../tensors/named-tensor.js'
import { WEIGHTED_SUM_CHUNK } from './constants.js'
import { instantiateWeightedSum, weightedSumKernelAvailable, type WeightedSumExports } from './weighted-sum-wasm.js'

export type WeightedSumBackend = 'wasm' | 'js'

/** A float64 running sum over `length` coordinates, added to one float32 run at a time. */
export interface WeightedSum {
  readonly backend: WeightedSumBackend
  readonly length: number
  /**
   * acc[offset + j] += weight · data[j] for every j. Returns the index in `data` of its first NaN
   * or ±Infinity, or -1. After a non-finite value the sums are unspecified: give up on them.
   */
  add(offset: number, data: Float32Array, weight: number): number
  /** A copy of acc[offset .. offset + length). */
  read(offset: number, length: number): Float64Array
}

export interface CreateWeightedSumOptions {
  /** Default: 'wasm' where WebAssembly SIMD is available, else 'js'. */
  backend?: WeightedSumBackend
}

/** Whether this engine runs the WebAssembly SIMD kernel. */
export const wasmSimdAvailable = (): boolean => weightedSumKernelAvailable

const checkRange = (sum: WeightedSum, offset: number, length: number) => {
  if (!(Number.isSafeInteger(offset) && offset >= 0 && offset + length <= sum.length))
    throw new InvalidArgumentError('offset', `[${offset}, ${offset + length}) is outside the sum's ${sum.length} coordinates`)
}

class JsWeightedSum implements WeightedSum {
  readonly backend = 'js'
  readonly length: number
  readonly #acc: Float64Array

  constructor(length: number) {
    this.length = length
    this.#acc = new Float64Array(length)
  }

  add(offset: number, data: Float32Array, weight: number): number {
    checkRange(this, offset, data.length)
    return addScalar(this.#acc, offset, data, 0, weight)
  }

  read(offset: number, length: number): Float64Array {
    checkRange(this, offset, length)
    return this.#acc.slice(offset, offset + length)
  }
}

const WASM_PAGE = 65536
const F64 = 8
const F32 = 4

/**
 * The sums live in the instance's memory; each float32 run is copied in chunk by chunk (so the
 * chunk and its sums stay in the first-level cache) and summed by the SIMD kernel, four lanes at
 * a time. A run's last length mod 4 values are summed here, in the same order.
 */
class WasmWeightedSum implements WeightedSum {
  readonly backend = 'wasm'
  readonly length: number
  readonly #kernel: WeightedSumExports
  readonly #acc: Float64Array
  readonly #chunk: Float32Array
  readonly #chunkAt: number

  constructor(kernel: WeightedSumExports, length: number) {
    this.length = length
    this.#kernel = kernel
    this.#chunkAt = length * F64
    const bytes = this.#chunkAt + WEIGHTED_SUM_CHUNK * F32
    const memory = this.#kernel.memory
    const missing = Math.ceil(bytes / WASM_PAGE) - memory.buffer.byteLength / WASM_PAGE
    if (missing > 0) memory.grow(missing)
    // A fresh instance's memory is zero: the sums start at +0, as a new Float64Array would.
    this.#acc = new Float64Array(memory.buffer, 0, length)
    this.#chunk = new Float32Array(memory.buffer, this.#chunkAt, WEIGHTED_SUM_CHUNK)
  }

  add(offset: number, data: Float32Array, weight: number): number {
    checkRange(this, offset, data.length)
    const n = data.length
    const whole = n - (n % 4)
    const chunk = this.#chunk
    for (let c = 0; c < whole; c += WEIGHTED_SUM_CHUNK) {
      const end = Math.min(c + WEIGHTED_SUM_CHUNK, whole)
      const part = c === 0 && end === n ? data : data.subarray(c, end)
      chunk.set(part)
      if (this.#kernel.accumulate((offset + c) * F64, this.#chunkAt, this.#chunkAt + (end - c) * F32, weight) !== 0) return c + firstNonFinite(part)
    }
    return addScalar(this.#acc, offset, data, whole, weight)
  }

  read(offset: number, length: number): Float64Array {
    checkRange(this, offset, length)
    return this.#acc.slice(offset, offset + length)
  }
}

/** A zeroed running sum over `length` coordinates. Each sum owns its memory: nothing is shared. */
export function createWeightedSum(length: number, options: CreateWeightedSumOptions = {}): WeightedSum {
  if (!(Number.isSafeInteger(length) && length >= 0)) throw new InvalidArgumentError('length', 'must be a non-negative integer')
  const backend = options.backend ?? (weightedSumKernelAvailable ? 'wasm' : 'js')
  if (backend === 'js') return new JsWeightedSum(length)
  if (backend !== 'wasm') throw new InvalidArgumentError('backend', `unknown backend ${String(backend)}`)
  const kernel = instantiateWeightedSum()
  if (kernel === undefined) throw new InvalidArgumentError('backend', 'this engine has no WebAssembly SIMD')
  return new WasmWeightedSum(kernel, length)
}

/**
 * acc[offset + j] += weight × data[j] for j from `from` on, in order: the JavaScript backend, and
 * the tail the SIMD kernel leaves. The index of the first non-finite value, or -1.
 */
function addScalar(acc: Float64Array, offset: number, data: Float32Array, from: number, weight: number): number {
  const n = data.length
  for (let j = from; j < n; j++) {
    const v = data[j] as number
    // v - v is NaN exactly for NaN and ±Infinity.
    if (v - v !== 0) return j
    acc[offset + j] = (acc[offset + j] as number) + weight * v
  }
  return -1
}
