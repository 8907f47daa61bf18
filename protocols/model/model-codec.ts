// Reading and writing ONNX ModelProto bytes. Decoding checks the size cap first, then that the
// bytes hold a graph whose structure later code may rely on: node, initializer and I/O counts
// within caps, unique initializer names, well-formed initializers, a default-domain opset.
import { ModelFormatError, ModelTooLargeError } from '../errors.js'
import { MAX_GRAPH_IO, MAX_GRAPH_NODES, MAX_INITIALIZERS, MAX_MODEL_BYTES } from './constants.js'
import { int64ToNumber, onnx, type ModelProto } from './onnx.js'
import { tensorFromProto } from './tensor-proto.js'

export interface DecodeModelOptions {
  /** Cap on the encoded size; defaults to MAX_MODEL_BYTES. */
  maxBytes?: number
}

/** Decodes and checks an ONNX model. Throws ModelTooLargeError or ModelFormatError. */
export function decodeModel(bytes: Uint8Array, options: DecodeModelOptions = {}): ModelProto {
  if (!(bytes instanceof Uint8Array)) throw new ModelFormatError('bytes', 'must be a Uint8Array')
  const max = options.maxBytes ?? MAX_MODEL_BYTES
  if (bytes.length > max) throw new ModelTooLargeError(bytes.length, max)
  if (bytes.length === 0) throw new ModelFormatError('bytes', 'empty')
  let model: ModelProto
  try {
    model = onnx.ModelProto.decode(bytes)
  } catch (cause) {
    throw new ModelFormatError('bytes', 'not an ONNX ModelProto', { cause })
  }
  checkModel(model)
  return model
}

/** Encodes a model to its protobuf bytes after the same checks decoding makes. */
export function encodeModel(model: ModelProto): Uint8Array {
  checkModel(model)
  return onnx.ModelProto.encode(model).finish()
}

/** The default-domain ('' or 'ai.onnx') opset a model imports. */
export function modelOpset(model: ModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => o.domain === '' || o.domain === 'ai.onnx' || o.domain === null || o.domain === undefined)
  if (entry === undefined) throw new ModelFormatError('opset_import', 'no default-domain opset')
  return int64ToNumber(entry.version)
}

/** The structural checks of decodeModel, for models built in memory too. */
export function checkModel(model: ModelProto): void {
  const ir = int64ToNumber(model.irVersion)
  if (!Number.isSafeInteger(ir) || ir < 3) throw new ModelFormatError('ir_version', `${ir} is not a supported IR version`)
  const opset = modelOpset(model)
  if (!Number.isSafeInteger(opset) || opset < 1) throw new ModelFormatError('opset_import', `bad version ${opset}`)
  const graph = model.graph
  if (graph === null || graph === undefined) throw new ModelFormatError('graph', 'missing')
  const nodes = graph.node ?? []
  if (nodes.length > MAX_GRAPH_NODES) throw new ModelFormatError('graph.node', `${nodes.length} nodes exceed ${MAX_GRAPH_NODES}`)
  if (nodes.length === 0) throw new ModelFormatError('graph.node', 'no nodes')
  const inits = graph.initializer ?? []
  if (inits.length > MAX_INITIALIZERS)
    throw new ModelFormatError('graph.initializer', `${inits.length} initializers exceed ${MAX_INITIALIZERS}`)
  const inputs = graph.input ?? []
  const outputs = graph.output ?? []
  if (inputs.length > MAX_GRAPH_IO + inits.length) throw new ModelFormatError('graph.input', `more than ${MAX_GRAPH_IO} inputs`)
  if (outputs.length > MAX_GRAPH_IO) throw new ModelFormatError('graph.output', `more than ${MAX_GRAPH_IO} outputs`)
  if (outputs.length === 0) throw new ModelFormatError('graph.output', 'no outputs')
  const seen = new Set<string>()
  for (const [i, init] of inits.entries()) {
    const name = init.name ?? ''
    if (name === '') throw new ModelFormatError(`graph.initializer[${i}]`, 'has no name')
    if (seen.has(name)) throw new ModelFormatError(`graph.initializer[${i}]`, `duplicate name ${JSON.stringify(name)}`)
    seen.add(name)
    tensorFromProto(init, `graph.initializer[${i}] ${JSON.stringify(name)}`)
  }
  for (const [i, node] of nodes.entries()) {
    if (typeof node.opType !== 'string' || node.opType === '') throw new ModelFormatError(`graph.node[${i}]`, 'has no op_type')
    if ((node.output ?? []).length === 0) throw new ModelFormatError(`graph.node[${i}]`, 'has no outputs')
  }
}
