// The named initializers of a model (its weights) as named tensors, and a copy of a model with
// some of them replaced. A replacement must name an existing initializer and keep its dtype and
// shape, so that a model update can never change a model's structure.
import { namedTensor, type NamedTensor } from '../tensors/named-tensor.js'
import { InitializerMismatchError } from '../errors.js'
import { checkModel } from './model-codec.js'
import { onnx, type ModelProto, type TensorProto } from './onnx.js'
import { tensorFromProto, tensorToProto } from './tensor-proto.js'

export interface ReadInitializersOptions {
  /** Only float32 initializers (the trainable kind); default false. */
  floatOnly?: boolean
}

/** The model's initializers in graph order. A scalar initializer comes back with shape [1]. */
export function readInitializers(model: ModelProto, options: ReadInitializersOptions = {}): NamedTensor[] {
  const out: NamedTensor[] = []
  for (const proto of model.graph?.initializer ?? []) {
    if (options.floatOnly === true && proto.dataType !== onnx.TensorProto.DataType.FLOAT) continue
    const { scalar: _scalar, ...tensor } = tensorFromProto(proto)
    out.push(tensor)
  }
  return out
}

/** A copy of `model` whose initializers named in `tensors` hold the given data. The input is untouched. */
export function replaceInitializers(model: ModelProto, tensors: readonly NamedTensor[]): ModelProto {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish())
  const graph = copy.graph
  const inits = graph?.initializer ?? []
  const index = new Map(inits.map((p, i) => [p.name ?? '', i]))
  const done = new Set<string>()
  for (const t of tensors) {
    const i = index.get(t.name)
    if (i === undefined) throw new InitializerMismatchError(t.name, 'the model has no initializer of that name')
    if (done.has(t.name)) throw new InitializerMismatchError(t.name, 'given twice')
    done.add(t.name)
    const old = tensorFromProto(inits[i] as TensorProto)
    if (old.dtype !== t.dtype) throw new InitializerMismatchError(t.name, `dtype ${t.dtype}, the model has ${old.dtype}`)
    if (old.shape.length !== t.shape.length || old.shape.some((d, k) => d !== t.shape[k]))
      throw new InitializerMismatchError(t.name, `shape [${t.shape.join(', ')}], the model has [${old.shape.join(', ')}]`)
    // namedTensor re-checks length and finiteness of the new data.
    const checked = namedTensor(t.name, t.dtype, t.shape, t.data)
    inits[i] = onnx.TensorProto.create(tensorToProto(checked, old.scalar))
  }
  checkModel(copy)
  return copy
}
