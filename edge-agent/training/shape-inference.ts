// Static shapes of every value of a trainable graph, as far as the gradient rules need them.
// The batch dimension (or any symbolic one) is -1; spatial sizes, channel counts and Concat
// sizes must be static, which every model made by protocols/model is.
import { attrInt, attrInts, int64ToNumber, modelOpset, tensorFromProto, type ModelProto, type NodeProto } from '../../protocols/model/index.js'
import { UnsupportedOpError } from '../../protocols/errors.js'

/** A shape whose unknown (symbolic) dimensions are -1. */
export type Shape = number[]

export function nodeLabel(node: NodeProto, index: number): string {
  return node.name !== null && node.name !== undefined && node.name !== '' ? node.name : `#${index}`
}

export function broadcast(a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length)
  const out: Shape = []
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1
    const y = b[b.length - rank + i] ?? 1
    out.push(x === 1 ? y : y === 1 ? x : x === -1 ? y : x)
  }
  return out
}

const product = (s: readonly number[]): number => (s.some((d) => d < 0) ? -1 : s.reduce((a, b) => a * b, 1))

/** Spatial attributes of Conv and the pools, with ONNX defaults filled in. */
export interface Window {
  kernel: number[]
  pads: number[]
  strides: number[]
  dilations: number[]
}

export function windowOf(node: NodeProto, label: string, kernelFromWeight?: readonly number[]): Window {
  const op = node.opType ?? ''
  const autoPad = node.attribute?.find((a) => a.name === 'auto_pad')
  if (autoPad !== undefined && new TextDecoder().decode(autoPad.s ?? new Uint8Array()) !== 'NOTSET')
    throw new UnsupportedOpError(op, label, 'with auto_pad is not trainable; give explicit pads')
  if (attrInt(node, 'ceil_mode', 0) !== 0) throw new UnsupportedOpError(op, label, 'with ceil_mode = 1 is not trainable')
  const kernel = attrInts(node, 'kernel_shape') ?? (kernelFromWeight === undefined ? undefined : [...kernelFromWeight])
  if (kernel === undefined) throw new UnsupportedOpError(op, label, 'has no kernel_shape')
  const rank = kernel.length
  if (rank < 1 || rank > 2) throw new UnsupportedOpError(op, label, `with ${rank} spatial dimensions is not trainable (1-D and 2-D are)`)
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * rank).fill(0)
  const strides = attrInts(node, 'strides') ?? new Array<number>(rank).fill(1)
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(rank).fill(1)
  if (pads.length !== 2 * rank || strides.length !== rank || dilations.length !== rank)
    throw new UnsupportedOpError(op, label, 'has pads, strides or dilations of the wrong length')
  return { kernel, pads, strides, dilations }
}

export function windowOutput(input: Shape, w: Window, op: string, label: string): number[] {
  const rank = w.kernel.length
  return w.kernel.map((k, i) => {
    const size = input[input.length - rank + i] as number
    if (size < 0) throw new UnsupportedOpError(op, label, 'needs static spatial dimensions to be trained')
    const out = Math.floor((size + (w.pads[i] as number) + (w.pads[i + rank] as number) - (w.dilations[i] as number) * (k - 1) - 1) / (w.strides[i] as number)) + 1
    if (out < 1) throw new UnsupportedOpError(op, label, 'has a window larger than its padded input')
    return out
  })
}

/** Values of int64 constants (initializers and Constant nodes), for Reshape's shape. */
export function int64Constants(model: ModelProto): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const init of model.graph?.initializer ?? []) {
    if (init.dataType !== 7) continue
    const t = tensorFromProto(init)
    out.set(t.name, Array.from(t.data as BigInt64Array, Number))
  }
  for (const node of model.graph?.node ?? []) {
    if (node.opType !== 'Constant') continue
    const value = node.attribute?.find((a) => a.name === 'value')?.t
    if (value === null || value === undefined || value.dataType !== 7) continue
    const t = tensorFromProto({ ...value, name: node.output?.[0] ?? 'constant' })
    out.set(node.output?.[0] ?? '', Array.from(t.data as BigInt64Array, Number))
  }
  return out
}

/** Shapes of the graph's inputs, initializers and every node output. */
export function inferShapes(model: ModelProto): Map<string, Shape> {
  const graph = model.graph
  const shapes = new Map<string, Shape>()
  for (const init of graph?.initializer ?? []) shapes.set(init.name ?? '', (init.dims ?? []).map(int64ToNumber))
  for (const input of graph?.input ?? []) {
    const name = input.name ?? ''
    if (shapes.has(name)) continue
    const dims = input.type?.tensorType?.shape?.dim ?? []
    shapes.set(
      name,
      dims.map((d) => (d.dimValue !== null && d.dimValue !== undefined && int64ToNumber(d.dimValue) > 0 ? int64ToNumber(d.dimValue) : -1)),
    )
  }
  const consts = int64Constants(model)
  const opset = modelOpset(model)
  for (const [index, node] of (graph?.node ?? []).entries()) {
    const op = node.opType ?? ''
    const label = nodeLabel(node, index)
    const ins = (node.input ?? []).map((n) => (n === '' ? undefined : shapes.get(n)))
    const x = ins[0]
    const need = (s: Shape | undefined, what: string): Shape => {
      if (s === undefined) throw new UnsupportedOpError(op, label, `has an input (${what}) of unknown shape`)
      return s
    }
    const set = (s: Shape): void => {
      shapes.set(node.output?.[0] ?? '', s)
    }
    switch (op) {
      case 'Constant': {
        const t = node.attribute?.find((a) => a.name === 'value')?.t
        if (t === null || t === undefined) throw new UnsupportedOpError(op, label, 'without a tensor value is not supported')
        set((t.dims ?? []).map(int64ToNumber))
        break
      }
      case 'Identity':
      case 'Relu':
      case 'LeakyRelu':
      case 'Sigmoid':
      case 'Tanh':
        set([...need(x, 'X')])
        break
      case 'Softmax':
      case 'LogSoftmax':
        if (opset < 13) {
          const rank = need(x, 'X').length
          const axis = attrInt(node, 'axis', 1)
          if (axis !== rank - 1 && axis !== -1) throw new UnsupportedOpError(op, label, 'of opset < 13 is trainable only on the last axis')
        }
        set([...need(x, 'X')])
        break
      case 'Add':
      case 'Sub':
      case 'Mul':
        set(broadcast(need(x, 'A'), need(ins[1], 'B')))
        break
      case 'Gemm': {
        const a = need(x, 'A')
        const b = need(ins[1], 'B')
        if (a.length !== 2 || b.length !== 2) throw new UnsupportedOpError(op, label, 'needs 2-D A and B')
        const m = attrInt(node, 'transA', 0) === 0 ? a[0] : a[1]
        const n = attrInt(node, 'transB', 0) === 0 ? b[1] : b[0]
        set([m as number, n as number])
        break
      }
      case 'MatMul': {
        const a = need(x, 'A')
        const b = need(ins[1], 'B')
        if (a.length < 2 || b.length < 2) throw new UnsupportedOpError(op, label, 'with a 1-D operand is not trainable')
        const batch = broadcast(a.slice(0, -2), b.slice(0, -2))
        set([...batch, a[a.length - 2] as number, b[b.length - 1] as number])
        break
      }
      case 'Flatten': {
        const s = need(x, 'input')
        let axis = attrInt(node, 'axis', 1)
        if (axis < 0) axis += s.length
        set([product(s.slice(0, axis)), product(s.slice(axis))])
        break
      }
      case 'Reshape': {
        const s = need(x, 'data')
        const target = consts.get(node.input?.[1] ?? '')
        if (target === undefined) throw new UnsupportedOpError(op, label, 'needs a constant shape to be trained')
        if (attrInt(node, 'allowzero', 0) !== 0) throw new UnsupportedOpError(op, label, 'with allowzero = 1 is not trainable')
        const out = target.map((d, i) => (d === 0 ? (s[i] ?? -1) : d))
        const known = out.filter((d) => d > 0).reduce((a, b) => a * b, 1)
        const total = product(s)
        const fill = total < 0 ? -1 : total / known
        set(out.map((d) => (d === -1 ? fill : d)))
        break
      }
      case 'Conv': {
        const s = need(x, 'X')
        const w = need(ins[1], 'W')
        if (attrInt(node, 'group', 1) !== 1) throw new UnsupportedOpError(op, label, 'with group ≠ 1 is not trainable')
        const win = windowOf(node, label, w.slice(2))
        set([s[0] as number, w[0] as number, ...windowOutput(s, win, op, label)])
        break
      }
      case 'MaxPool':
      case 'AveragePool': {
        const s = need(x, 'X')
        const win = windowOf(node, label)
        if (op === 'MaxPool' && attrInt(node, 'storage_order', 0) !== 0) throw new UnsupportedOpError(op, label, 'with storage_order = 1 is not trainable')
        if (op === 'AveragePool' && win.dilations.some((d) => d !== 1)) throw new UnsupportedOpError(op, label, 'with dilations is not trainable')
        if ((s[1] ?? -1) < 0) throw new UnsupportedOpError(op, label, 'needs a static channel count to be trained')
        set([s[0] as number, s[1] as number, ...windowOutput(s, win, op, label)])
        if (op === 'MaxPool' && (node.output ?? []).length > 1 && node.output?.[1] !== '')
          throw new UnsupportedOpError(op, label, 'with an Indices output is not trainable')
        break
      }
      case 'Concat': {
        const parts = ins.map((s, i) => need(s, `input ${i}`))
        const first = parts[0] as Shape
        let axis = attrInt(node, 'axis', 0)
        if (axis < 0) axis += first.length
        const out = [...first]
        out[axis] = parts.reduce((sum, p) => (sum < 0 || (p[axis] as number) < 0 ? -1 : sum + (p[axis] as number)), 0)
        set(out)
        break
      }
      default:
        throw new UnsupportedOpError(op, label, 'is not in the trainable set')
    }
  }
  return shapes
}
