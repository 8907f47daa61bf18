// Model updates on the wire: named float32 deltas in one of four encodings, in one canonical
// byte form whose sha256 is the update's content id (the `updateHash` an attestation signs).
import { createHash } from 'node:crypto'
import { endianness } from 'node:os'
import { bytesToHex, type Hex } from 'viem'
import { MAX_TENSOR_ELEMENTS, MAX_TENSOR_RANK, MAX_TENSORS } from '../constants.js'
import { DecodeError, InvalidArgumentError, TensorFormatError } from '../errors.js'
import { checkSize, decodeProtobuf, lengthDelimitedHeader, requireCanonicalParts } from '../wire/codec.js'
import * as proto from '../wire/proto/messages.js'
import { FLOAT16_TO_FLOAT32, isNonFiniteFloat16, toFloat16Bits } from './float16.js'
import { kthLargest } from './select.js'
import { checkTensorName, elementCount, firstNonFinite, namedTensor, sortByName, type NamedTensor } from './named-tensor.js'

// Float32Array views are read and written as the wire's little-endian bytes.
if (endianness() !== 'LE') throw new Error('the update codec assumes a little-endian platform')

import { UPDATE_ENCODINGS, type UpdateEncoding } from './update-encodings.js'
export { UPDATE_ENCODINGS, type UpdateEncoding }

const TO_WIRE: Record<UpdateEncoding, proto.UpdateEncoding> = {
  float32: proto.UpdateEncoding.DENSE_F32,
  float16: proto.UpdateEncoding.DENSE_F16,
  int8: proto.UpdateEncoding.INT8,
  topk: proto.UpdateEncoding.TOPK_F32,
}
const FROM_WIRE = new Map(Object.entries(TO_WIRE).map(([k, v]) => [v, k as UpdateEncoding]))

/** Largest finite binary16 value (IEEE 754-2008 §3.6, table 3.5). */
export const FLOAT16_MAX = 65504
const INT8_LEVELS = 127
/** Smallest positive float32 (IEEE 754-2008 binary32 subnormal, 2^-149). */
const FLOAT32_MIN_SUBNORMAL = 2 ** -149

/** The per-tensor int8 scale: maxAbs/127 in float32, never rounded down to zero for a non-zero tensor. */
function int8Scale(maxAbs: number): number {
  return maxAbs === 0 ? 0 : Math.max(Math.fround(maxAbs / INT8_LEVELS), FLOAT32_MIN_SUBNORMAL)
}

export interface EncodeUpdateOptions {
  encoding: UpdateEncoding
  /** topk only: the fraction of each tensor's entries kept, in (0, 1]. Default 0.01. */
  density?: number
}

export type UpdateTensor = NamedTensor<'float32'>

export interface DecodedUpdate {
  encoding: UpdateEncoding
  /**
   * Dense float32 tensors, in canonical (name) order. Those of a float32 update are views of the
   * decoded bytes where these are 4-byte aligned (a copy otherwise): leave the bytes unchanged
   * while the tensors are in use.
   */
  tensors: UpdateTensor[]
}

/** The largest error the encoding may introduce on `value` of a tensor whose entries reach `maxAbs`. */
export function quantisationBound(encoding: UpdateEncoding, value: number, maxAbs: number): number {
  switch (encoding) {
    case 'float32':
      return 0
    case 'float16':
      // Round-to-nearest: half an ulp, 2^-11 relative for normals, 2^-25 absolute for subnormals.
      return Math.max(Math.abs(value) * 2 ** -11, 2 ** -25)
    case 'int8':
      // Half a quantisation step, plus float32 rounding of q·scale (relative, or one subnormal step).
      return (int8Scale(maxAbs) / 2) * (1 + 2 ** -20) + Math.abs(value) * 2 ** -23 + FLOAT32_MIN_SUBNORMAL
    case 'topk':
      // Kept entries are exact; dropped ones are at most the k-th largest magnitude.
      return maxAbs
  }
}

const f32Bytes = (values: Float32Array): Uint8Array => new Uint8Array(values.buffer, values.byteOffset, values.byteLength)

/** A Float32Array over `bytes`, copied only when the bytes are not 4-byte aligned. */
const f32View = (bytes: Uint8Array): Float32Array<ArrayBuffer> => {
  // `new Uint8Array(x)` copies even a Buffer, whose `slice` would return a view.
  const aligned = bytes.byteOffset % 4 === 0 && bytes.buffer instanceof ArrayBuffer ? bytes : new Uint8Array(bytes)
  // Either checked just above or a fresh copy: an ArrayBuffer, not a SharedArrayBuffer.
  return new Float32Array(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / 4)
}

function maxAbsOf(data: Float32Array): number {
  let max = 0
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i] as number)
    if (a > max) max = a
  }
  return max
}

function encodeFloat16(t: UpdateTensor): Uint8Array {
  const out = new Uint16Array(t.data.length)
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i] as number
    if (v > FLOAT16_MAX || v < -FLOAT16_MAX) throw new TensorFormatError(t.name, `value ${v} at index ${i} exceeds the float16 range`)
    out[i] = toFloat16Bits(v)
  }
  return new Uint8Array(out.buffer)
}

function encodeInt8(t: UpdateTensor): { data: Uint8Array; scale: number } {
  const scale = int8Scale(maxAbsOf(t.data))
  const q = new Int8Array(t.data.length)
  if (scale > 0) {
    for (let i = 0; i < q.length; i++) {
      const level = Math.round((t.data[i] as number) / scale)
      q[i] = level > INT8_LEVELS ? INT8_LEVELS : level < -INT8_LEVELS ? -INT8_LEVELS : level
    }
  }
  return { data: new Uint8Array(q.buffer), scale }
}

/** Keeps the k largest magnitudes; ties at the threshold go to the lower index, so it is deterministic. */
function encodeTopK(t: UpdateTensor, density: number): { data: Uint8Array; indices: Uint8Array } {
  const n = t.data.length
  const k = Math.max(1, Math.ceil(density * n))
  const magnitudes = new Float32Array(n)
  for (let i = 0; i < n; i++) magnitudes[i] = Math.abs(t.data[i] as number)
  const threshold = kthLargest(magnitudes, k)
  let above = 0
  for (let i = 0; i < n; i++) if (Math.abs(t.data[i] as number) > threshold) above++
  let ties = k - above
  const indices = new Uint32Array(k)
  const values = new Float32Array(k)
  let j = 0
  for (let i = 0; i < n && j < k; i++) {
    const v = t.data[i] as number
    const a = Math.abs(v)
    if (a > threshold || (a === threshold && ties-- > 0)) {
      indices[j] = i
      values[j++] = v
    }
  }
  return { data: f32Bytes(values), indices: new Uint8Array(indices.buffer) }
}

/** Encodes float32 tensors (any order; they are sorted by name) into the canonical update bytes. */
export function encodeUpdate(tensors: readonly UpdateTensor[], options: EncodeUpdateOptions): Uint8Array {
  const { encoding, density = 0.01 } = options
  if (!UPDATE_ENCODINGS.includes(encoding)) throw new InvalidArgumentError('encoding', `unknown encoding ${String(encoding)}`)
  if (encoding === 'topk' && !(density > 0 && density <= 1)) throw new InvalidArgumentError('density', 'must be in (0, 1]')
  if (tensors.length > MAX_TENSORS) throw new InvalidArgumentError('tensors', `more than ${MAX_TENSORS} tensors`)
  const sorted = sortByName(tensors.map((t) => namedTensor(t.name, 'float32', t.shape, t.data)))
  let total = 0
  const wire: proto.UpdateTensor[] = sorted.map((t, i) => {
    if (i > 0 && sorted[i - 1]?.name === t.name) throw new TensorFormatError(t.name, 'duplicate tensor name')
    total += t.data.length
    if (total > MAX_TENSOR_ELEMENTS) throw new InvalidArgumentError('tensors', `more than ${MAX_TENSOR_ELEMENTS} elements in all`)
    const base = { name: t.name, shape: [...t.shape], scale: 0, indices: new Uint8Array(0), data: new Uint8Array(0) }
    switch (encoding) {
      case 'float32':
        return { ...base, data: f32Bytes(t.data) }
      case 'float16':
        return { ...base, data: encodeFloat16(t) }
      case 'int8':
        return { ...base, ...encodeInt8(t) }
      case 'topk':
        return { ...base, ...encodeTopK(t, density) }
    }
  }) as proto.UpdateTensor[]
  const bytes = proto.ModelUpdate.encode({ encoding: TO_WIRE[encoding], tensors: wire })
  checkSize('ModelUpdate', bytes)
  return bytes
}

const TYPE = 'ModelUpdate'

function decodeTensor(encoding: UpdateEncoding, wire: proto.UpdateTensor, index: number, budget: number): UpdateTensor {
  const field = (f: string) => `tensors[${index}].${f}`
  let name: string
  try {
    name = checkTensorName(wire.name)
  } catch (err) {
    throw new DecodeError(TYPE, field('name'), 'must be 1..256 characters', { cause: err })
  }
  let n: number
  try {
    n = elementCount(wire.shape, name, budget)
  } catch (err) {
    throw new DecodeError(TYPE, field('shape'), err instanceof Error ? err.message : 'invalid', { cause: err })
  }
  const expectBytes = (f: 'data' | 'indices', actual: Uint8Array, bytes: number) => {
    if (actual.length !== bytes) throw new DecodeError(TYPE, field(f), `expected ${bytes} bytes, got ${actual.length}`)
  }
  const finite = (values: Float32Array) => {
    const at = firstNonFinite(values)
    if (at >= 0) throw new DecodeError(TYPE, field('data'), `non-finite value at index ${at}`)
  }
  if (encoding !== 'int8' && wire.scale !== 0) throw new DecodeError(TYPE, field('scale'), 'only int8 tensors carry a scale')
  if (encoding !== 'topk') expectBytes('indices', wire.indices, 0)
  if (encoding === 'float32') {
    expectBytes('data', wire.data, n * 4)
    // A view where the bytes are 4-byte aligned: no allocation and no copy, one pass to check.
    const data = f32View(wire.data)
    finite(data)
    return { name, dtype: 'float32', shape: [...wire.shape], data }
  }
  const data = new Float32Array(n)
  switch (encoding) {
    case 'float16': {
      expectBytes('data', wire.data, n * 2)
      const aligned = wire.data.byteOffset % 2 === 0 ? wire.data : new Uint8Array(wire.data)
      const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, n)
      for (let i = 0; i < n; i++) {
        const bits = halves[i] as number
        if (isNonFiniteFloat16(bits)) throw new DecodeError(TYPE, field('data'), `non-finite value at index ${i}`)
        data[i] = FLOAT16_TO_FLOAT32[bits] as number
      }
      break
    }
    case 'int8': {
      expectBytes('data', wire.data, n)
      const scale = wire.scale
      if (!Number.isFinite(scale) || scale < 0) throw new DecodeError(TYPE, field('scale'), `must be finite and >= 0, got ${scale}`)
      const q = new Int8Array(wire.data.buffer, wire.data.byteOffset, n)
      for (let i = 0; i < n; i++) {
        const level = q[i] as number
        if (level < -INT8_LEVELS) throw new DecodeError(TYPE, field('data'), `level -128 at index ${i} is outside ±${INT8_LEVELS}`)
        if (scale === 0 && level !== 0) throw new DecodeError(TYPE, field('data'), `level ${level} at index ${i} with a zero scale`)
        data[i] = level * scale
      }
      break
    }
    case 'topk': {
      const k = wire.indices.length / 4
      if (!Number.isInteger(k) || k < 1 || k > n) throw new DecodeError(TYPE, field('indices'), `must hold 1..${n} uint32 values`)
      expectBytes('data', wire.data, k * 4)
      const values = f32View(wire.data)
      finite(values)
      const aligned = wire.indices.byteOffset % 4 === 0 ? wire.indices : new Uint8Array(wire.indices)
      const indices = new Uint32Array(aligned.buffer, aligned.byteOffset, k)
      let previous = -1
      for (let j = 0; j < k; j++) {
        const at = indices[j] as number
        if (at <= previous || at >= n) throw new DecodeError(TYPE, field('indices'), `index ${at} at ${j} is not ascending within 0..${n - 1}`)
        data[at] = values[j] as number
        previous = at
      }
      break
    }
  }
  return { name, dtype: 'float32', shape: [...wire.shape], data }
}

/** Field numbers of ModelUpdate.tensors and UpdateTensor.data and .indices (proto/messages.proto). */
const FIELD = { tensors: 2, data: 3, indices: 5 } as const
const NO_BYTES = new Uint8Array(0)

/**
 * Refuses update bytes that do not re-encode to themselves. The canonical encoding is assembled
 * from the re-encoded small fields and the decoded `data` and `indices` views themselves, which
 * lie in `bytes` and so are checked by their place, not copied and compared (see
 * requireCanonicalParts). Fields are in field-number order: name, shape, data, scale, indices.
 */
function requireCanonical(bytes: Uint8Array, wire: proto.ModelUpdate): void {
  const field = (number: number, value: Uint8Array) => (value.length > 0 ? [lengthDelimitedHeader(number, value.length), value] : [])
  const parts: Uint8Array[] = [proto.ModelUpdate.encode({ encoding: wire.encoding, tensors: [] })]
  for (const t of wire.tensors) {
    const body = [
      proto.UpdateTensor.encode({ name: t.name, shape: t.shape, data: NO_BYTES, scale: 0, indices: NO_BYTES }),
      ...field(FIELD.data, t.data),
      proto.UpdateTensor.encode({ name: '', shape: [], data: NO_BYTES, scale: t.scale, indices: NO_BYTES }),
      ...field(FIELD.indices, t.indices),
    ]
    parts.push(lengthDelimitedHeader(FIELD.tensors, body.reduce((n, part) => n + part.length, 0)), ...body)
  }
  requireCanonicalParts(TYPE, bytes, parts)
}

/**
 * Decodes update bytes strictly: size cap first, then counts, names, shapes and byte lengths
 * before any tensor is allocated, and NaN/Infinity refused. Every failure is a DecodeError.
 */
export function decodeUpdate(bytes: Uint8Array): DecodedUpdate {
  checkSize(TYPE, bytes)
  const wire = decodeProtobuf(TYPE, bytes, () =>
    proto.ModelUpdate.decode(bytes, { limits: { tensors: MAX_TENSORS, tensors$: { shape: MAX_TENSOR_RANK } } }),
  )
  requireCanonical(bytes, wire)
  const encoding = FROM_WIRE.get(wire.encoding)
  if (encoding === undefined) throw new DecodeError(TYPE, 'encoding', `unknown encoding ${String(wire.encoding)}`)
  let budget = MAX_TENSOR_ELEMENTS
  const tensors: UpdateTensor[] = []
  for (const [i, t] of wire.tensors.entries()) {
    const previous = tensors[i - 1]
    if (previous !== undefined && !(previous.name < t.name))
      throw new DecodeError(TYPE, `tensors[${i}].name`, 'names must be unique and in ascending order')
    const tensor = decodeTensor(encoding, t, i, budget)
    budget -= tensor.data.length
    tensors.push(tensor)
  }
  return { encoding, tensors }
}

/** The content id of an encoded update (or any blob): its sha256. */
export function contentId(bytes: Uint8Array): Hex {
  return bytesToHex(createHash('sha256').update(bytes).digest())
}
