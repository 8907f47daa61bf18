// Small ONNX models built with onnx-proto, for engine tests that must not depend on the
// reference models: y = relu(x · Wᵀ + b) with a symbolic batch, and a fixed-shape int64 model.
import onnxProto from 'onnx-proto'

const { onnx } = onnxProto
const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64

export const TINY_IN = 4
export const TINY_OUT = 3
export const TINY_WEIGHTS = Float32Array.from({ length: TINY_OUT * TINY_IN }, (_, i) => ((i * 7) % 11) / 10 - 0.5)
export const TINY_BIAS = Float32Array.from([0.1, -0.2, 0.3])

/** y = relu(x · Wᵀ + b), x: [N, 4] float32 → y: [N, 3]. */
export function tinyDenseModel(): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'counterweight-tests',
    graph: {
      name: 'tiny-dense',
      node: [
        { opType: 'Gemm', input: ['x', 'w', 'b'], output: ['h'], attribute: [{ name: 'transB', i: 1, type: onnx.AttributeProto.AttributeType.INT }] },
        { opType: 'Relu', input: ['h'], output: ['y'] },
      ],
      initializer: [
        { name: 'w', dims: [TINY_OUT, TINY_IN], dataType: FLOAT, rawData: new Uint8Array(TINY_WEIGHTS.buffer.slice(0)) },
        { name: 'b', dims: [TINY_OUT], dataType: FLOAT, rawData: new Uint8Array(TINY_BIAS.buffer.slice(0)) },
      ],
      input: [{ name: 'x', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: TINY_IN }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: TINY_OUT }] } } } }],
    },
  }).finish()
}

/** Reference in float64 JavaScript. */
export function tinyDenseReference(x: Float32Array): Float32Array {
  const rows = x.length / TINY_IN
  const y = new Float32Array(rows * TINY_OUT)
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < TINY_OUT; o++) {
      let sum = TINY_BIAS[o] as number
      for (let i = 0; i < TINY_IN; i++) sum += (x[r * TINY_IN + i] as number) * (TINY_WEIGHTS[o * TINY_IN + i] as number)
      y[r * TINY_OUT + o] = Math.max(0, sum)
    }
  return y
}

/** z = a + b over int64 [2, 2] tensors, fixed shape: no batching. */
export function fixedInt64Model(): Uint8Array {
  const io = (name: string) => ({ name, type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 2 }, { dimValue: 2 }] } } } })
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'fixed-add', node: [{ opType: 'Add', input: ['a', 'b'], output: ['z'] }], input: [io('a'), io('b')], output: [io('z')] },
  }).finish()
}

/** A well-formed ONNX model using an operator no runtime has. */
export function unknownOpModel(): Uint8Array {
  const io = (name: string) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 1 }] } } } })
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'bogus', node: [{ opType: 'FrobnicateTensor', input: ['x'], output: ['y'] }], input: [io('x')], output: [io('y')] },
  }).finish()
}
