// A small builder of ONNX graphs: declare inputs, initializers and outputs, add nodes, build a
// ModelProto. Names of intermediate values are generated unique; nothing is checked against the
// ONNX op schemas (onnxruntime does that when it loads the model).
import { namedTensor, type DType, type NamedTensor } from '../tensors/named-tensor.js'
import { ModelFormatError } from '../errors.js'
import { attributeProto, type Attrs } from './attributes.js'
import { IR_VERSION, OPSET_VERSION, PRODUCER_NAME } from './constants.js'
import { checkModel } from './model-codec.js'
import { ELEM_TYPE, onnx, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './onnx.js'
import { tensorToProto } from './tensor-proto.js'

/** A dimension: a fixed size, or a symbolic name such as 'N' for the batch. */
export type Dim = number | string
export type ValueType = DType | 'bool' | 'float64'

export interface BuildOptions {
  opset?: number
  irVersion?: number
  docString?: string
}

export function valueInfo(name: string, type: ValueType, shape?: readonly Dim[]): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE[type],
        ...(shape === undefined
          ? {}
          : { shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } }),
      },
    },
  })
}

export class GraphBuilder {
  readonly name: string
  readonly #nodes: NodeProto[] = []
  readonly #inputs: ValueInfoProto[] = []
  readonly #outputs: ValueInfoProto[] = []
  readonly #initializers: TensorProto[] = []
  readonly #names = new Set<string>()
  #counter = 0

  constructor(name: string) {
    this.name = name
  }

  /** A fresh value name starting with `prefix`. */
  unique(prefix: string): string {
    let name = prefix
    while (this.#names.has(name)) name = `${prefix}_${++this.#counter}`
    this.#names.add(name)
    return name
  }

  #claim(name: string): string {
    if (this.#names.has(name)) throw new ModelFormatError('graph', `value name ${JSON.stringify(name)} is used twice`)
    this.#names.add(name)
    return name
  }

  input(name: string, type: ValueType, shape: readonly Dim[]): string {
    this.#inputs.push(valueInfo(this.#claim(name), type, shape))
    return name
  }

  /** Declares an input from an existing ValueInfoProto. */
  addInputInfo(info: ValueInfoProto): string {
    const name = info.name ?? ''
    this.#names.add(name)
    this.#inputs.push(onnx.ValueInfoProto.create(info))
    return name
  }

  /** Marks an existing value as a graph output. */
  output(name: string, type: ValueType, shape?: readonly Dim[]): string {
    this.#outputs.push(valueInfo(name, type, shape))
    return name
  }

  /** Adds an initializer; `scalar` stores a shape-[1] tensor with dims [] (a rank-0 scalar). */
  initializer(tensor: NamedTensor, scalar = false): string {
    this.#claim(tensor.name)
    this.#initializers.push(tensorToProto(tensor, scalar))
    return tensor.name
  }

  /** An int64 constant initializer (shapes, axes, split sizes) under a fresh name. */
  int64s(prefix: string, values: readonly number[]): string {
    const name = this.unique(prefix)
    this.#initializers.push(tensorToProto(namedTensor(name, 'int64', [values.length], BigInt64Array.from(values.map(BigInt)))))
    return name
  }

  /** A float32 constant initializer under a fresh name; shape [] gives a scalar. */
  floats(prefix: string, values: readonly number[], shape: readonly number[] = [values.length]): string {
    const name = this.unique(prefix)
    const scalar = shape.length === 0
    this.#initializers.push(tensorToProto(namedTensor(name, 'float32', scalar ? [1] : shape, Float32Array.from(values)), scalar))
    return name
  }

  /** Adds a node; returns its output names (generated from `op` unless given). */
  nodeN(op: string, inputs: readonly string[], outputs: number | readonly string[], attrs: Attrs = {}, name?: string): string[] {
    const nodeName = this.unique(name ?? op.toLowerCase())
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, (_, i) => this.unique(`${nodeName}_out${i === 0 ? '' : i}`))
        : outputs.map((o) => this.#claim(o))
    this.#nodes.push(
      onnx.NodeProto.create({
        name: nodeName,
        opType: op,
        input: [...inputs],
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attributeProto(k, v)),
      }),
    )
    return outs
  }

  /** Adds a one-output node and returns its output name. */
  node(op: string, inputs: readonly string[], attrs: Attrs = {}, output?: string): string {
    return this.nodeN(op, inputs, output === undefined ? 1 : [output], attrs)[0] as string
  }

  /** Appends an existing node as it is (its output names are reserved). */
  addNode(node: NodeProto): void {
    for (const o of node.output ?? []) if (o !== '') this.#names.add(o)
    if (node.name !== null && node.name !== undefined) this.#names.add(node.name)
    this.#nodes.push(onnx.NodeProto.create(node))
  }

  /** Appends an existing initializer as it is (its name is reserved). */
  addInitializer(proto: TensorProto): void {
    this.#names.add(proto.name ?? '')
    this.#initializers.push(onnx.TensorProto.create(proto))
  }

  /** Reserves names already used elsewhere so that generated names avoid them. */
  reserve(names: Iterable<string>): void {
    for (const n of names) this.#names.add(n)
  }

  build(options: BuildOptions = {}): ModelProto {
    const model = onnx.ModelProto.create({
      irVersion: options.irVersion ?? IR_VERSION,
      producerName: PRODUCER_NAME,
      opsetImport: [{ domain: '', version: options.opset ?? OPSET_VERSION }],
      docString: options.docString ?? '',
      graph: {
        name: this.name,
        node: this.#nodes,
        input: this.#inputs,
        output: this.#outputs,
        initializer: this.#initializers,
      },
    })
    checkModel(model)
    return model
  }
}
