// A small float64 evaluator of the trainable ONNX ops, in plain JavaScript, written from the ONNX
// operator specs independently of the gradient rules. The gradient checks differentiate it
// numerically (central differences) and compare with the gradients the training graph computes
// in onnxruntime.
import {
  attrFloat,
  attrInt,
  attrInts,
  int64ToNumber,
  tensorFromProto,
  type ModelProto,
  type NodeProto,
} from '../../../protocols/model/index.js'

export interface T64 {
  data: Float64Array
  shape: number[]
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1)
const stridesOf = (s: readonly number[]): number[] => {
  const out = new Array<number>(s.length).fill(1)
  for (let i = s.length - 2; i >= 0; i--) out[i] = (out[i + 1] as number) * (s[i + 1] as number)
  return out
}

function broadcastShape(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length)
  return Array.from({ length: r }, (_, i) => {
    const x = a[a.length - r + i] ?? 1
    const y = b[b.length - r + i] ?? 1
    if (x !== y && x !== 1 && y !== 1) throw new Error(`cannot broadcast ${a} and ${b}`)
    return Math.max(x, y)
  })
}

/** Offset into a tensor of shape `s` broadcast to `out`, for out multi-index `idx`. */
function offsetFor(idx: number[], s: number[], out: number[]): number {
  const lead = out.length - s.length
  const st = stridesOf(s)
  let o = 0
  for (let i = 0; i < s.length; i++) if ((s[i] as number) !== 1) o += (idx[i + lead] as number) * (st[i] as number)
  return o
}

function unravel(flat: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length)
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % (shape[i] as number)
    flat = Math.floor(flat / (shape[i] as number))
  }
  return idx
}

function binary(a: T64, b: T64, f: (x: number, y: number) => number): T64 {
  const shape = broadcastShape(a.shape, b.shape)
  const data = new Float64Array(size(shape))
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape)
    data[i] = f(a.data[offsetFor(idx, a.shape, shape)] as number, b.data[offsetFor(idx, b.shape, shape)] as number)
  }
  return { data, shape }
}

const unary = (a: T64, f: (x: number) => number): T64 => ({ data: a.data.map(f), shape: [...a.shape] })

function matmul2(a: Float64Array, ao: number, b: Float64Array, bo: number, out: Float64Array, oo: number, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let q = 0; q < k; q++) s += (a[ao + i * k + q] as number) * (b[bo + q * n + j] as number)
      out[oo + i * n + j] = s
    }
}

function transpose2(a: T64): T64 {
  const [m, n] = a.shape as [number, number]
  const data = new Float64Array(m * n)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) data[j * m + i] = a.data[i * n + j] as number
  return { data, shape: [n, m] }
}

function matmul(a: T64, b: T64): T64 {
  const [m, k] = a.shape.slice(-2) as [number, number]
  const n = b.shape[b.shape.length - 1] as number
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
  const shape = [...batch, m, n]
  const data = new Float64Array(size(shape))
  const nb = size(batch)
  for (let t = 0; t < nb; t++) {
    const idx = unravel(t, batch)
    const ao = offsetFor(idx, a.shape.slice(0, -2), batch) * m * k
    const bo = offsetFor(idx, b.shape.slice(0, -2), batch) * k * n
    matmul2(a.data, ao, b.data, bo, data, t * m * n, m, k, n)
  }
  return { data, shape }
}

function softmaxLike(x: T64, axisAttr: number, log: boolean): T64 {
  const axis = axisAttr < 0 ? axisAttr + x.shape.length : axisAttr
  const len = x.shape[axis] as number
  const inner = size(x.shape.slice(axis + 1))
  const outer = size(x.shape.slice(0, axis))
  const data = new Float64Array(x.data.length)
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = (k: number): number => o * len * inner + k * inner + i
      let max = -Infinity
      for (let k = 0; k < len; k++) max = Math.max(max, x.data[at(k)] as number)
      let sum = 0
      for (let k = 0; k < len; k++) sum += Math.exp((x.data[at(k)] as number) - max)
      for (let k = 0; k < len; k++) {
        const z = (x.data[at(k)] as number) - max
        data[at(k)] = log ? z - Math.log(sum) : Math.exp(z) / sum
      }
    }
  return { data, shape: [...x.shape] }
}

interface Win2 {
  kh: number
  kw: number
  ph: number
  pw: number
  sh: number
  sw: number
  dh: number
  dw: number
  oh: number
  ow: number
}

/** Window parameters as 2-D (a 1-D op is a 2-D one of height 1). */
function window2(node: NodeProto, x: number[], kernel: number[]): Win2 {
  const r = kernel.length
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * r).fill(0)
  const strides = attrInts(node, 'strides') ?? new Array<number>(r).fill(1)
  const dil = attrInts(node, 'dilations') ?? new Array<number>(r).fill(1)
  const two = (v: number[], d: number): [number, number] => (r === 1 ? [d, v[0] as number] : [v[0] as number, v[1] as number])
  const [kh, kw] = two(kernel, 1)
  const [ph, pw] = r === 1 ? [0, pads[0] as number] : [pads[0] as number, pads[1] as number]
  const [peh, pew] = r === 1 ? [0, pads[1] as number] : [pads[2] as number, pads[3] as number]
  const [sh, sw] = two(strides, 1)
  const [dh, dw] = two(dil, 1)
  const [h, w] = r === 1 ? [1, x[2] as number] : [x[2] as number, x[3] as number]
  const oh = Math.floor((h + ph + peh - dh * (kh - 1) - 1) / sh) + 1
  const ow = Math.floor((w + pw + pew - dw * (kw - 1) - 1) / sw) + 1
  return { kh, kw, ph, pw, sh, sw, dh, dw, oh, ow }
}

function conv(x: T64, w: T64, b: T64 | undefined, node: NodeProto): T64 {
  const r = x.shape.length - 2
  const [n, c] = x.shape as [number, number]
  const m = w.shape[0] as number
  const win = window2(node, x.shape, w.shape.slice(2))
  const [h, wd] = r === 1 ? [1, x.shape[2] as number] : [x.shape[2] as number, x.shape[3] as number]
  const out = new Float64Array(n * m * win.oh * win.ow)
  for (let i = 0; i < n; i++)
    for (let o = 0; o < m; o++)
      for (let y = 0; y < win.oh; y++)
        for (let z = 0; z < win.ow; z++) {
          let s = b === undefined ? 0 : (b.data[o] as number)
          for (let ch = 0; ch < c; ch++)
            for (let ky = 0; ky < win.kh; ky++)
              for (let kx = 0; kx < win.kw; kx++) {
                const yy = y * win.sh + ky * win.dh - win.ph
                const xx = z * win.sw + kx * win.dw - win.pw
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue
                s += (x.data[((i * c + ch) * h + yy) * wd + xx] as number) * (w.data[((o * c + ch) * win.kh + ky) * win.kw + kx] as number)
              }
          out[((i * m + o) * win.oh + y) * win.ow + z] = s
        }
  return { data: out, shape: r === 1 ? [n, m, win.ow] : [n, m, win.oh, win.ow] }
}

function pool(x: T64, node: NodeProto, max: boolean): T64 {
  const r = x.shape.length - 2
  const [n, c] = x.shape as [number, number]
  const win = window2(node, x.shape, attrInts(node, 'kernel_shape') ?? [])
  const includePad = attrInt(node, 'count_include_pad', 0) === 1
  const [h, wd] = r === 1 ? [1, x.shape[2] as number] : [x.shape[2] as number, x.shape[3] as number]
  const out = new Float64Array(n * c * win.oh * win.ow)
  for (let i = 0; i < n * c; i++)
    for (let y = 0; y < win.oh; y++)
      for (let z = 0; z < win.ow; z++) {
        let best = -Infinity
        let sum = 0
        let count = 0
        for (let ky = 0; ky < win.kh; ky++)
          for (let kx = 0; kx < win.kw; kx++) {
            const yy = y * win.sh + ky * win.dh - win.ph
            const xx = z * win.sw + kx * win.dw - win.pw
            if (yy < 0 || yy >= h || xx < 0 || xx >= wd) {
              if (includePad) count++
              continue
            }
            const v = x.data[(i * h + yy) * wd + xx] as number
            best = Math.max(best, v)
            sum += v
            count++
          }
        out[(i * win.oh + y) * win.ow + z] = max ? best : sum / count
      }
  return { data: out, shape: r === 1 ? [n, c, win.ow] : [n, c, win.oh, win.ow] }
}

function concat(parts: T64[], axisAttr: number): T64 {
  const first = parts[0] as T64
  const axis = axisAttr < 0 ? axisAttr + first.shape.length : axisAttr
  const outer = size(first.shape.slice(0, axis))
  const shape = [...first.shape]
  shape[axis] = parts.reduce((s, p) => s + (p.shape[axis] as number), 0)
  const data = new Float64Array(size(shape))
  let at = 0
  for (let o = 0; o < outer; o++)
    for (const p of parts) {
      const chunk = size(p.shape.slice(axis))
      data.set(p.data.subarray(o * chunk, (o + 1) * chunk), at)
      at += chunk
    }
  return { data, shape }
}

/** Evaluates the model's graph in float64; `feeds` gives the data input and may override initializers. */
export function evaluate(model: ModelProto, feeds: Record<string, T64>): Map<string, T64> {
  const values = new Map<string, T64>()
  for (const init of model.graph?.initializer ?? []) {
    const t = tensorFromProto(init)
    const shape = t.scalar ? [] : [...t.shape]
    values.set(t.name, { data: Float64Array.from(t.data as ArrayLike<number>, Number), shape })
  }
  for (const [k, v] of Object.entries(feeds)) values.set(k, v)
  for (const node of model.graph?.node ?? []) {
    const ins = (node.input ?? []).map((n) => (n === '' ? undefined : values.get(n)))
    const x = ins[0] as T64
    let y: T64
    switch (node.opType) {
      case 'Constant': {
        const t = tensorFromProto({ ...(node.attribute?.find((a) => a.name === 'value')?.t ?? {}), name: 'c' })
        y = { data: Float64Array.from(t.data as ArrayLike<number>, Number), shape: [...t.shape] }
        break
      }
      case 'Identity':
        y = x
        break
      case 'Relu':
        y = unary(x, (v) => Math.max(v, 0))
        break
      case 'LeakyRelu': {
        const alpha = attrFloat(node, 'alpha', 0.01)
        y = unary(x, (v) => (v > 0 ? v : alpha * v))
        break
      }
      case 'Sigmoid':
        y = unary(x, (v) => 1 / (1 + Math.exp(-v)))
        break
      case 'Tanh':
        y = unary(x, Math.tanh)
        break
      case 'Softmax':
      case 'LogSoftmax':
        y = softmaxLike(x, attrInt(node, 'axis', -1), node.opType === 'LogSoftmax')
        break
      case 'Add':
        y = binary(x, ins[1] as T64, (a, b) => a + b)
        break
      case 'Sub':
        y = binary(x, ins[1] as T64, (a, b) => a - b)
        break
      case 'Mul':
        y = binary(x, ins[1] as T64, (a, b) => a * b)
        break
      case 'Gemm': {
        const a = attrInt(node, 'transA', 0) === 1 ? transpose2(x) : x
        const b = attrInt(node, 'transB', 0) === 1 ? transpose2(ins[1] as T64) : (ins[1] as T64)
        const alpha = attrFloat(node, 'alpha', 1)
        const beta = attrFloat(node, 'beta', 1)
        y = unary(matmul(a, b), (v) => alpha * v)
        const c = ins[2]
        if (c !== undefined) y = binary(y, c, (p, q) => p + beta * q)
        break
      }
      case 'MatMul':
        y = matmul(x, ins[1] as T64)
        break
      case 'Flatten': {
        let axis = attrInt(node, 'axis', 1)
        if (axis < 0) axis += x.shape.length
        y = { data: x.data, shape: [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))] }
        break
      }
      case 'Reshape': {
        const target = Array.from((ins[1] as T64).data, (v) => v)
        const out = target.map((d, i) => (d === 0 ? (x.shape[i] as number) : d))
        const known = out.filter((d) => d > 0).reduce((a, b) => a * b, 1)
        y = { data: x.data, shape: out.map((d) => (d === -1 ? x.data.length / known : d)) }
        break
      }
      case 'Conv':
        y = conv(x, ins[1] as T64, ins[2], node)
        break
      case 'MaxPool':
      case 'AveragePool':
        y = pool(x, node, node.opType === 'MaxPool')
        break
      case 'Concat':
        y = concat(ins as T64[], attrInt(node, 'axis', 0))
        break
      default:
        throw new Error(`reference evaluator: no ${node.opType}`)
    }
    values.set(node.output?.[0] ?? '', y)
  }
  return values
}

/** −mean over rows of Σ target·log softmax(output) (rows along the last axis). */
export function crossEntropy(output: T64, target: T64): number {
  const logp = softmaxLike(output, -1, true)
  const rows = output.shape[0] as number
  let s = 0
  for (let i = 0; i < logp.data.length; i++) s += (target.data[i] as number) * (logp.data[i] as number)
  return -s / rows
}

export function meanSquaredError(output: T64, target: T64): number {
  let s = 0
  for (let i = 0; i < output.data.length; i++) s += ((output.data[i] as number) - (target.data[i] as number)) ** 2
  return s / output.data.length
}

export { int64ToNumber }
