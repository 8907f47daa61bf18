// Named tensors: the weights of a model and the deltas of an update, as (name, dtype, shape, data).
import { MAX_TENSOR_ELEMENTS, MAX_TENSOR_NAME_LENGTH, MAX_TENSOR_RANK } from '../constants.js'
import { TensorFormatError } from '../errors.js'

export const DTYPES = {
  float32: Float32Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int8: Int8Array,
  uint8: Uint8Array,
} as const

export type DType = keyof typeof DTYPES
export type TensorData<D extends DType> = InstanceType<(typeof DTYPES)[D]>

export interface NamedTensor<D extends DType = DType> {
  readonly name: string
  readonly dtype: D
  readonly shape: readonly number[]
  readonly data: TensorData<D>
}

export function checkTensorName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_TENSOR_NAME_LENGTH)
    throw new TensorFormatError(String(name), `name must be 1..${MAX_TENSOR_NAME_LENGTH} characters`)
  return name
}

/**
 * The number of elements of `shape`, checked dimension by dimension against the caps, so that
 * a hostile shape is refused before anything is allocated for it.
 */
export function elementCount(shape: readonly number[], tensor: string, max = MAX_TENSOR_ELEMENTS): number {
  if (!Array.isArray(shape)) throw new TensorFormatError(tensor, 'shape must be an array')
  if (shape.length > MAX_TENSOR_RANK) throw new TensorFormatError(tensor, `rank ${shape.length} exceeds ${MAX_TENSOR_RANK}`)
  let count = 1
  for (const [axis, dim] of shape.entries()) {
    if (!Number.isSafeInteger(dim) || dim < 1)
      throw new TensorFormatError(tensor, `shape[${axis}] = ${dim} is not a positive integer`)
    count *= dim
    if (count > max) throw new TensorFormatError(tensor, `more than ${max} elements`, { details: { max } })
  }
  return count
}

/** Index of the first NaN or ±Infinity, or -1. */
export function firstNonFinite(data: Float32Array): number {
  const n = data.length
  const whole = n - (n % 4)
  let i = 0
  // v·0 is ±0 for a finite v and NaN otherwise, so a group of four sums to ±0 exactly when all
  // four are finite; the group with a non-finite value is then searched one by one.
  for (; i < whole; i += 4) {
    if ((data[i] as number) * 0 + (data[i + 1] as number) * 0 + (data[i + 2] as number) * 0 + (data[i + 3] as number) * 0 !== 0) break
  }
  for (; i < n; i++) {
    const v = data[i] as number
    // v - v is NaN exactly for NaN and ±Infinity; cheaper than Number.isFinite in a hot loop.
    if (v - v !== 0) return i
  }
  return -1
}

/** Builds a tensor after checking its name, shape, data type and length (and finiteness of floats). */
export function namedTensor<D extends DType>(name: string, dtype: D, shape: readonly number[], data: TensorData<D>): NamedTensor<D> {
  checkTensorName(name)
  const ctor = DTYPES[dtype]
  if (ctor === undefined) throw new TensorFormatError(name, `unknown dtype ${String(dtype)}`)
  if (!(data instanceof ctor)) throw new TensorFormatError(name, `data is not a ${ctor.name}`)
  const count = elementCount(shape, name)
  if (data.length !== count) throw new TensorFormatError(name, `data has ${data.length} elements, shape needs ${count}`)
  if (data instanceof Float32Array) {
    const at = firstNonFinite(data)
    if (at >= 0) throw new TensorFormatError(name, `non-finite value at index ${at}`, { details: { index: at } })
  }
  return { name, dtype, shape: [...shape], data }
}

/** Tensors in canonical order (by name, code unit order): the order of updates on the wire. */
export function sortByName<T extends { name: string }>(tensors: readonly T[]): T[] {
  return [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}
