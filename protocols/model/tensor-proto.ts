// Conversion between ONNX TensorProto and the named tensors of protocols/tensors. Written
// tensors always carry `raw_data` (little-endian, onnx.proto "raw_data"); read tensors may carry
// either `raw_data` or the typed repeated fields.
import { DTYPES, elementCount, namedTensor, type DType, type NamedTensor, type TensorData } from '../tensors/named-tensor.js'
import { ModelFormatError } from '../errors.js'
import { ELEM_TYPE, int64ToNumber, onnx, type TensorProto } from './onnx.js'

const DTYPE_OF_ELEM = new Map<number, DType>(
  (Object.entries(ELEM_TYPE) as [string, number][])
    .filter(([k]) => k in DTYPES)
    .map(([k, v]) => [v, k as DType]),
)

export function elemTypeOf(dtype: DType): number {
  return ELEM_TYPE[dtype]
}

export function dtypeOfElem(elemType: number, field: string): DType {
  const dtype = DTYPE_OF_ELEM.get(elemType)
  if (dtype === undefined) throw new ModelFormatError(field, `element type ${elemType} is not supported`)
  return dtype
}

/** The dims of a TensorProto as numbers, checked against the tensor caps (a scalar has dims []). */
export function protoDims(proto: TensorProto, field: string): number[] {
  const dims = (proto.dims ?? []).map(int64ToNumber)
  if (dims.length > 0) {
    try {
      elementCount(dims, field)
    } catch (cause) {
      throw new ModelFormatError(field, `bad dims [${dims.join(', ')}]`, { cause })
    }
  }
  return dims
}

/**
 * A TensorProto as a named tensor. A scalar (dims []) comes back with shape [1], since named
 * tensors have rank ≥ 1; `scalar` in the result says so.
 */
export function tensorFromProto(proto: TensorProto, field = `initializer ${proto.name ?? ''}`): NamedTensor & { scalar: boolean } {
  const name = proto.name ?? ''
  if ((proto.dataLocation ?? 0) !== 0) throw new ModelFormatError(field, 'external data is not supported')
  const dtype = dtypeOfElem(proto.dataType ?? 0, field)
  const dims = protoDims(proto, field)
  const scalar = dims.length === 0
  const shape = scalar ? [1] : dims
  const count = shape.reduce((a, b) => a * b, 1)
  const Ctor = DTYPES[dtype]
  const raw = proto.rawData
  let data: TensorData<DType>
  if (raw !== null && raw !== undefined && raw.length > 0) {
    const bytes = count * Ctor.BYTES_PER_ELEMENT
    if (raw.length !== bytes) throw new ModelFormatError(field, `raw_data has ${raw.length} bytes, dims need ${bytes}`)
    // Copy into an aligned buffer (raw_data may sit at any offset of the decoded message).
    const copy = new Uint8Array(bytes)
    copy.set(raw)
    data = new Ctor(copy.buffer)
  } else {
    const values: readonly (number | { toNumber(): number })[] =
      dtype === 'float32' ? (proto.floatData ?? []) : dtype === 'int64' ? (proto.int64Data ?? []) : (proto.int32Data ?? [])
    if (values.length !== count) throw new ModelFormatError(field, `holds ${values.length} values, dims need ${count}`)
    if (dtype === 'int64') {
      data = BigInt64Array.from(values, (v) => {
        if (typeof v === 'number') return BigInt(v)
        return BigInt(String(v))
      })
    } else {
      const typed = new Ctor(count) as Exclude<TensorData<DType>, BigInt64Array>
      for (let i = 0; i < count; i++) typed[i] = int64ToNumber(values[i])
      data = typed
    }
  }
  try {
    return { ...namedTensor(name, dtype, shape, data), scalar }
  } catch (cause) {
    throw new ModelFormatError(field, 'is not a valid tensor', { cause })
  }
}

/** A named tensor as a TensorProto with raw_data; `scalar` writes dims [] (shape must be [1]). */
export function tensorToProto(tensor: NamedTensor, scalar = false): TensorProto {
  const { data } = tensor
  const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
  return onnx.TensorProto.create({
    name: tensor.name,
    dataType: elemTypeOf(tensor.dtype),
    dims: scalar ? [] : [...tensor.shape],
    rawData,
  })
}
