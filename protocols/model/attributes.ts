// Reading node attributes with defaults, and writing them with their ONNX types.
import { ModelFormatError } from '../errors.js'
import { ATTR_TYPE, int64ToNumber, onnx, type AttributeProto, type NodeProto } from './onnx.js'

/** A float attribute value; plain numbers are written as ints, so floats must be wrapped. */
export interface FloatAttr {
  readonly float: number
}
export interface FloatsAttr {
  readonly floats: readonly number[]
}
export type AttrValue = number | readonly number[] | string | FloatAttr | FloatsAttr
export type Attrs = Readonly<Record<string, AttrValue>>

export const float = (value: number): FloatAttr => ({ float: value })
export const floats = (values: readonly number[]): FloatsAttr => ({ floats: values })

/** Builds an AttributeProto with the ONNX type the value's form names. */
export function attributeProto(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new ModelFormatError(`attribute ${name}`, `int ${value} is not an integer; wrap floats in float()`)
    return onnx.AttributeProto.create({ name, type: ATTR_TYPE.int, i: value })
  }
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: ATTR_TYPE.string, s: new TextEncoder().encode(value) })
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: ATTR_TYPE.ints, ints: [...(value as readonly number[])] })
  if ('float' in value) return onnx.AttributeProto.create({ name, type: ATTR_TYPE.float, f: value.float })
  return onnx.AttributeProto.create({ name, type: ATTR_TYPE.floats, floats: [...(value as FloatsAttr).floats] })
}

function find(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name)
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = find(node, name)
  if (a === undefined) return fallback
  if (a.type !== ATTR_TYPE.int) throw new ModelFormatError(`node ${node.name ?? ''} attribute ${name}`, 'is not an int')
  return int64ToNumber(a.i)
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = find(node, name)
  if (a === undefined) return fallback
  if (a.type !== ATTR_TYPE.float) throw new ModelFormatError(`node ${node.name ?? ''} attribute ${name}`, 'is not a float')
  return a.f ?? 0
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = find(node, name)
  if (a === undefined) return undefined
  if (a.type !== ATTR_TYPE.ints) throw new ModelFormatError(`node ${node.name ?? ''} attribute ${name}`, 'is not a list of ints')
  return (a.ints ?? []).map(int64ToNumber)
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = find(node, name)
  if (a === undefined) return fallback
  if (a.type !== ATTR_TYPE.string) throw new ModelFormatError(`node ${node.name ?? ''} attribute ${name}`, 'is not a string')
  return new TextDecoder().decode(a.s ?? new Uint8Array())
}

export function hasAttr(node: NodeProto, name: string): boolean {
  return find(node, name) !== undefined
}
