// The ONNX protobuf types (onnx.proto of ONNX 1.10 as static protobufjs code, npm `onnx-proto`),
// re-exported under short names, plus the few enum values this code uses.
import onnxProto from 'onnx-proto'

export const onnx = onnxProto.onnx
export type ModelProto = onnxProto.onnx.ModelProto
export type GraphProto = onnxProto.onnx.IGraphProto
export type NodeProto = onnxProto.onnx.INodeProto
export type TensorProto = onnxProto.onnx.ITensorProto
export type AttributeProto = onnxProto.onnx.IAttributeProto
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto

/** TensorProto.DataType values (onnx.proto). */
export const ELEM_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
} as const

/** AttributeProto.AttributeType values (onnx.proto). */
export const ATTR_TYPE = {
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  floats: 6,
  ints: 7,
} as const

/** A protobufjs int64 field: a number, or a `Long` when the value was decoded. */
export type Int64 = number | { toNumber(): number } | null | undefined

/** An int64 field as a number; a value beyond 2^53 (never a valid shape or attribute here) gives NaN. */
export function int64ToNumber(v: Int64): number {
  if (v === null || v === undefined) return 0
  if (typeof v === 'number') return v
  const n = v.toNumber()
  return Number.isSafeInteger(n) ? n : Number.NaN
}
