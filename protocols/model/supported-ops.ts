// The ops whose gradient edge-agent/training derives: a model made only of these (default
// domain) can be trained on a device. Any ONNX model can still be run for inference.
import { UnsupportedOpError } from '../errors.js'
import type { ModelProto } from './onnx.js'

export const TRAINABLE_OPS = [
  'Gemm',
  'MatMul',
  'Add',
  'Sub',
  'Mul',
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'Softmax',
  'LogSoftmax',
  'Flatten',
  'Reshape',
  'Conv',
  'MaxPool',
  'AveragePool',
  'Concat',
  'Identity',
  // No gradient flows into a Constant; it is listed so that exported models (whose Reshape
  // shapes are often Constant nodes) can be trained.
  'Constant',
] as const

export type TrainableOp = (typeof TRAINABLE_OPS)[number]

const SET: ReadonlySet<string> = new Set(TRAINABLE_OPS)

export function isTrainableOp(op: string, domain = ''): op is TrainableOp {
  return (domain === '' || domain === 'ai.onnx') && SET.has(op)
}

export interface UnsupportedOp {
  /** The op type, prefixed with its domain when not the default one (`com.microsoft:FusedConv`). */
  op: string
  /** The node's name, or `#index` when it has none. */
  node: string
  index: number
}

function opName(op: string, domain: string): string {
  return domain === '' || domain === 'ai.onnx' ? op : `${domain}:${op}`
}

/** Every node of the model whose op is outside TRAINABLE_OPS, in graph order. */
export function listUnsupportedOps(model: ModelProto): UnsupportedOp[] {
  const out: UnsupportedOp[] = []
  for (const [index, node] of (model.graph?.node ?? []).entries()) {
    const op = node.opType ?? ''
    const domain = node.domain ?? ''
    if (!isTrainableOp(op, domain)) out.push({ op: opName(op, domain), node: node.name || `#${index}`, index })
  }
  return out
}

/** Throws UnsupportedOpError naming the first node whose op is outside TRAINABLE_OPS. */
export function assertTrainable(model: ModelProto): void {
  const first = listUnsupportedOps(model)[0]
  if (first !== undefined) throw new UnsupportedOpError(first.op, first.node, 'is not in the trainable set', { details: { index: first.index } })
}
