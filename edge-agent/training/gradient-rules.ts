// Reverse-mode rules, one per trainable op: given the gradients of a node's outputs, emit ONNX
// nodes that compute the gradients of its inputs. Only standard ops are emitted, so the result
// runs in any ONNX Runtime. Broadcasting is undone with ReduceSum + Reshape to the input's
// runtime shape.
import { attrFloat, attrInt, float, type GraphBuilder, type NodeProto } from '../../protocols/model/index.js'
import { UnsupportedOpError } from '../../protocols/errors.js'
import { MAX_TENSOR_ELEMENTS } from '../../protocols/constants.js'
import { windowOf, windowOutput, type Shape } from './shape-inference.js'

export interface RuleContext {
  readonly g: GraphBuilder
  shape(name: string): Shape
  /** Whether a gradient is wanted for this value (it depends on a trained weight). */
  needs(name: string): boolean
  /** The Indices output the forward MaxPool node was given. */
  maxPoolIndices(node: NodeProto): string
  constFloat(value: number): string
}

/** Gradients of the node's inputs (undefined where none is wanted) from that of its first output. */
export type GradientRule = (ctx: RuleContext, node: NodeProto, label: string, dY: string) => (string | undefined)[]

/** Sums `grad` (shaped like `outShape`) over the axes along which `input` was broadcast. */
export function unbroadcast(ctx: RuleContext, grad: string, outShape: Shape, input: string): string {
  const inShape = ctx.shape(input)
  const lead = outShape.length - inShape.length
  const axes: number[] = []
  for (let i = 0; i < outShape.length; i++) {
    if (i < lead) axes.push(i)
    else if (inShape[i - lead] === 1 && outShape[i] !== 1) axes.push(i)
  }
  if (axes.length === 0) return grad
  const { g } = ctx
  const summed = g.node('ReduceSum', [grad, g.int64s('axes', axes)], { keepdims: 1 })
  return g.node('Reshape', [summed, g.node('Shape', [input])])
}

const inputs = (node: NodeProto): string[] => [...(node.input ?? [])]
const want = (ctx: RuleContext, name: string | undefined): name is string => name !== undefined && name !== '' && ctx.needs(name)

const gemm: GradientRule = (ctx, node, _label, dY) => {
  const { g } = ctx
  const [a, b, c] = inputs(node)
  const alpha = attrFloat(node, 'alpha', 1)
  const beta = attrFloat(node, 'beta', 1)
  const tA = attrInt(node, 'transA', 0)
  const tB = attrInt(node, 'transB', 0)
  let dA: string | undefined
  let dB: string | undefined
  let dC: string | undefined
  if (want(ctx, a) && b !== undefined)
    dA =
      tA === 0
        ? g.node('Gemm', [dY, b], { alpha: float(alpha), transB: 1 - tB })
        : g.node('Gemm', [b, dY], { alpha: float(alpha), transA: tB, transB: 1 })
  if (want(ctx, b) && a !== undefined)
    dB =
      tB === 0
        ? g.node('Gemm', [a, dY], { alpha: float(alpha), transA: 1 - tA })
        : g.node('Gemm', [dY, a], { alpha: float(alpha), transA: 1, transB: tA })
  if (want(ctx, c)) {
    const out = ctx.shape(node.output?.[0] ?? '')
    const scaled = beta === 1 ? dY : g.node('Mul', [dY, ctx.constFloat(beta)])
    dC = unbroadcast(ctx, scaled, out, c)
  }
  return [dA, dB, dC]
}

const swapLast = (rank: number): number[] => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2]

const matMul: GradientRule = (ctx, node, _label, dY) => {
  const { g } = ctx
  const [a, b] = inputs(node) as [string, string]
  const out = ctx.shape(node.output?.[0] ?? '')
  const outBatch = out.slice(0, -2)
  const dA = want(ctx, a)
    ? unbroadcastBatch(ctx, g.node('MatMul', [dY, g.node('Transpose', [b], { perm: swapLast(ctx.shape(b).length) })]), [...outBatch, ...ctx.shape(a).slice(-2)], a)
    : undefined
  const dB = want(ctx, b)
    ? unbroadcastBatch(ctx, g.node('MatMul', [g.node('Transpose', [a], { perm: swapLast(ctx.shape(a).length) }), dY]), [...outBatch, ...ctx.shape(b).slice(-2)], b)
    : undefined
  return [dA, dB]
}

function unbroadcastBatch(ctx: RuleContext, grad: string, gradShape: Shape, input: string): string {
  return unbroadcast(ctx, grad, gradShape, input)
}

const add: GradientRule = (ctx, node, _label, dY) => {
  const out = ctx.shape(node.output?.[0] ?? '')
  return inputs(node).map((x) => (want(ctx, x) ? unbroadcast(ctx, dY, out, x) : undefined))
}

const sub: GradientRule = (ctx, node, _label, dY) => {
  const out = ctx.shape(node.output?.[0] ?? '')
  const [a, b] = inputs(node)
  return [
    want(ctx, a) ? unbroadcast(ctx, dY, out, a) : undefined,
    want(ctx, b) ? unbroadcast(ctx, ctx.g.node('Neg', [dY]), out, b) : undefined,
  ]
}

const mul: GradientRule = (ctx, node, _label, dY) => {
  const out = ctx.shape(node.output?.[0] ?? '')
  const [a, b] = inputs(node) as [string, string]
  return [
    want(ctx, a) ? unbroadcast(ctx, ctx.g.node('Mul', [dY, b]), out, a) : undefined,
    want(ctx, b) ? unbroadcast(ctx, ctx.g.node('Mul', [dY, a]), out, b) : undefined,
  ]
}

const relu: GradientRule = (ctx, node, _label, dY) => {
  const { g } = ctx
  const x = inputs(node)[0] as string
  const mask = g.node('Cast', [g.node('Greater', [x, ctx.constFloat(0)])], { to: 1 })
  return [g.node('Mul', [dY, mask])]
}

const leakyRelu: GradientRule = (ctx, node, _label, dY) => {
  const { g } = ctx
  const x = inputs(node)[0] as string
  const alpha = attrFloat(node, 'alpha', 0.01)
  return [g.node('Where', [g.node('Greater', [x, ctx.constFloat(0)]), dY, g.node('Mul', [dY, ctx.constFloat(alpha)])])]
}

const sigmoid: GradientRule = (ctx, node, _label, dY) => {
  const { g } = ctx
  const y = node.output?.[0] as string
  return [g.node('Mul', [dY, g.node('Mul', [y, g.node('Sub', [ctx.constFloat(1), y])])])]
}

const tanh: GradientRule = (ctx, node, _label, dY) => {
  const { g } = ctx
  const y = node.output?.[0] as string
  return [g.node('Mul', [dY, g.node('Sub', [ctx.constFloat(1), g.node('Mul', [y, y])])])]
}

function softmaxAxis(ctx: RuleContext, node: NodeProto): number {
  const rank = ctx.shape(node.input?.[0] ?? '').length
  const axis = attrInt(node, 'axis', -1)
  return axis < 0 ? axis + rank : axis
}

const softmax: GradientRule = (ctx, node, _label, dY) => {
  const { g } = ctx
  const y = node.output?.[0] as string
  const axes = g.int64s('axes', [softmaxAxis(ctx, node)])
  const dot = g.node('ReduceSum', [g.node('Mul', [dY, y]), axes], { keepdims: 1 })
  return [g.node('Mul', [y, g.node('Sub', [dY, dot])])]
}

const logSoftmax: GradientRule = (ctx, node, _label, dY) => {
  const { g } = ctx
  const y = node.output?.[0] as string
  const axes = g.int64s('axes', [softmaxAxis(ctx, node)])
  const total = g.node('ReduceSum', [dY, axes], { keepdims: 1 })
  return [g.node('Sub', [dY, g.node('Mul', [g.node('Exp', [y]), total])])]
}

const reshapeLike: GradientRule = (ctx, node, _label, dY) => {
  const x = inputs(node)[0] as string
  return [ctx.g.node('Reshape', [dY, ctx.g.node('Shape', [x])]), undefined]
}

const identity: GradientRule = (_ctx, _node, _label, dY) => [dY]

const concat: GradientRule = (ctx, node, label, dY) => {
  const ins = inputs(node)
  const rank = ctx.shape(ins[0] as string).length
  let axis = attrInt(node, 'axis', 0)
  if (axis < 0) axis += rank
  const sizes = ins.map((x) => ctx.shape(x)[axis] as number)
  if (sizes.some((s) => s < 0)) throw new UnsupportedOpError('Concat', label, 'along a dynamic axis is not trainable')
  const parts = ctx.g.nodeN('Split', [dY, ctx.g.int64s('split', sizes)], ins.length, { axis })
  return ins.map((x, i) => (want(ctx, x) ? parts[i] : undefined))
}

/** Output padding that makes a ConvTranspose give back the forward input's spatial size. */
function outputPadding(inSpatial: readonly number[], outSpatial: readonly number[], kernel: readonly number[], w: { pads: number[]; strides: number[]; dilations: number[] }): number[] {
  const rank = kernel.length
  return kernel.map((k, i) => {
    const full = ((outSpatial[i] as number) - 1) * (w.strides[i] as number) - (w.pads[i] as number) - (w.pads[i + rank] as number) + (w.dilations[i] as number) * (k - 1) + 1
    return (inSpatial[i] as number) - full
  })
}

const conv: GradientRule = (ctx, node, label, dY) => {
  const { g } = ctx
  const [x, w, b] = inputs(node) as [string, string, string | undefined]
  const xs = ctx.shape(x)
  const ws = ctx.shape(w)
  const win = windowOf(node, label, ws.slice(2))
  const rank = win.kernel.length
  const inSpatial = xs.slice(2)
  const outSpatial = windowOutput(xs, win, 'Conv', label)
  const perm = [1, 0, ...Array.from({ length: rank }, (_, i) => i + 2)]
  let dX: string | undefined
  let dW: string | undefined
  let dB: string | undefined
  if (want(ctx, x)) {
    dX = g.node('ConvTranspose', [dY, w], {
      kernel_shape: win.kernel,
      pads: win.pads,
      strides: win.strides,
      dilations: win.dilations,
      output_padding: outputPadding(inSpatial, outSpatial, win.kernel, win),
    })
  }
  if (want(ctx, w)) {
    // dW[o, c, k] = Σ_n Σ_t dY[n, o, t] · X[n, c, t·stride + k·dilation − pad]: a convolution of
    // X (batch and channel swapped) by dY (likewise), with stride and dilation exchanged.
    const xt = g.node('Transpose', [x], { perm })
    const dyt = g.node('Transpose', [dY], { perm })
    let corr = g.node('Conv', [xt, dyt], { pads: win.pads, strides: win.dilations, dilations: win.strides })
    const got = win.kernel.map((k, i) => {
      const size = (inSpatial[i] as number) + (win.pads[i] as number) + (win.pads[i + rank] as number)
      return Math.floor((size - (win.strides[i] as number) * ((outSpatial[i] as number) - 1) - 1) / (win.dilations[i] as number)) + 1
    })
    if (got.some((n, i) => n !== win.kernel[i])) {
      const axes = Array.from({ length: rank }, (_, i) => i + 2)
      corr = g.node('Slice', [corr, g.int64s('starts', axes.map(() => 0)), g.int64s('ends', win.kernel), g.int64s('axes', axes)])
    }
    dW = g.node('Transpose', [corr], { perm })
  }
  if (want(ctx, b)) {
    const axes = [0, ...Array.from({ length: rank }, (_, i) => i + 2)]
    dB = g.node('ReduceSum', [dY, g.int64s('axes', axes)], { keepdims: 0 })
  }
  return [dX, dW, dB]
}

const maxPool: GradientRule = (ctx, node, _label, dY) => {
  const { g } = ctx
  const x = inputs(node)[0] as string
  // MaxPool's Indices index the flattened input (batch included), so one scatter-add of dY
  // into zeros routes each gradient to the element that won its window (ONNX MaxPool, opset 12).
  const flat = g.int64s('flat', [-1])
  const zeros = g.node('ConstantOfShape', [g.node('Shape', [g.node('Reshape', [x, flat])])])
  const idx = g.node('Reshape', [ctx.maxPoolIndices(node), flat])
  const scattered = g.node('ScatterElements', [zeros, idx, g.node('Reshape', [dY, flat])], { axis: 0, reduction: 'add' })
  return [g.node('Reshape', [scattered, g.node('Shape', [x])])]
}

const averagePool: GradientRule = (ctx, node, label, dY) => {
  const { g } = ctx
  const x = inputs(node)[0] as string
  const xs = ctx.shape(x)
  const win = windowOf(node, label)
  const rank = win.kernel.length
  const channels = xs[1] as number
  const area = win.kernel.reduce((a, b) => a * b, 1)
  if (channels * area > MAX_TENSOR_ELEMENTS) throw new UnsupportedOpError('AveragePool', label, 'has too many channels to be trained')
  const padded = win.pads.some((p) => p !== 0)
  let scaled: string
  if (attrInt(node, 'count_include_pad', 0) === 1 || !padded) {
    scaled = g.node('Mul', [dY, ctx.constFloat(1 / area)])
  } else {
    // Windows that overlap the padding divide by the count of real elements: area × the
    // include-pad average of ones.
    const ones = g.node('Expand', [ctx.constFloat(1), g.node('Shape', [x])])
    const share = g.node('AveragePool', [ones], { kernel_shape: win.kernel, pads: win.pads, strides: win.strides, count_include_pad: 1 })
    scaled = g.node('Div', [dY, g.node('Mul', [share, ctx.constFloat(area)])])
  }
  const kernel = g.floats('ones', new Array<number>(channels * area).fill(1), [channels, 1, ...win.kernel])
  const outSpatial = windowOutput(xs, win, 'AveragePool', label)
  return [
    g.node('ConvTranspose', [scaled, kernel], {
      kernel_shape: win.kernel,
      pads: win.pads,
      strides: win.strides,
      group: channels,
      output_padding: outputPadding(xs.slice(2), outSpatial, win.kernel, { ...win, dilations: new Array<number>(rank).fill(1) }),
    }),
  ]
}

export const GRADIENT_RULES: Readonly<Record<string, GradientRule>> = {
  Gemm: gemm,
  MatMul: matMul,
  Add: add,
  Sub: sub,
  Mul: mul,
  Relu: relu,
  LeakyRelu: leakyRelu,
  Sigmoid: sigmoid,
  Tanh: tanh,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  Flatten: reshapeLike,
  Reshape: reshapeLike,
  Conv: conv,
  MaxPool: maxPool,
  AveragePool: averagePool,
  Concat: concat,
  Identity: identity,
}
