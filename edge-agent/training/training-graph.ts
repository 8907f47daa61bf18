// Derives one training-step graph from a model's graph: the forward pass, the loss, the
// gradients of every trained weight (reverse mode, gradient-rules.ts) and, unless `optimizer`
// is 'none', the optimiser's update. Weights and optimiser state are graph inputs, and their
// new values graph outputs, so state lives with the caller between steps and one session serves
// every step. With `optimizer: 'none'` the graph outputs the gradients instead (cw.grad.<w>).
import {
  GraphBuilder,
  OPSET_VERSION,
  MAX_OPSET_VERSION,
  MIN_TRAINABLE_OPSET,
  assertTrainable,
  attrInt,
  modelOpset,
  onnx,
  valueInfo,
  type ModelProto,
  type NodeProto,
} from '../../protocols/model/index.js'
import { InvalidArgumentError, UnsupportedOpError } from '../../protocols/errors.js'
import {
  BETA1_INPUT,
  BETA2_INPUT,
  BIAS1_INPUT,
  BIAS2_INPUT,
  EPSILON_INPUT,
  LOSS_OUTPUT,
  LR_INPUT,
  MOMENTUM_INPUT,
  MU_INPUT,
  TARGET_INPUT,
  baseName,
  gradName,
  newStateName,
  newWeightName,
  stateName,
} from './constants.js'
import { GRADIENT_RULES, type RuleContext } from './gradient-rules.js'
import { inferShapes, nodeLabel, type Shape } from './shape-inference.js'

export type LossKind = 'cross-entropy' | 'mse'
export type OptimizerKind = 'sgd' | 'adam' | 'none'

export interface BuildTrainingGraphParameters {
  /** 'cross-entropy': softmax cross-entropy of the output (logits, or the input of a final Softmax/LogSoftmax) against a one-hot target; 'mse': mean squared error over all elements. */
  loss: LossKind
  optimizer: OptimizerKind
  /** Add the FedProx term μ/2·‖w − w_base‖² (inputs cw.mu and cw.base.<w>). */
  proximal?: boolean
  /** Weights to train; default every float32 initializer a gradient reaches. */
  trainable?: readonly string[]
}

export interface TrainingGraph {
  model: ModelProto
  /** The model's data input and output names. */
  input: string
  output: string
  /** Trained weights in order; each is an input of the graph. */
  weights: string[]
  /** Shapes of the trained weights. */
  shapes: Map<string, Shape>
  /** Optimiser state slots per weight ('velocity' for SGD, 'm' and 'v' for Adam). */
  slots: string[]
  loss: LossKind
  optimizer: OptimizerKind
  proximal: boolean
  /** Static shape of the model's output (-1 for the batch). */
  outputShape: Shape
}

const SLOTS: Record<OptimizerKind, string[]> = { sgd: ['velocity'], adam: ['m', 'v'], none: [] }

export function buildTrainingGraph(model: ModelProto, parameters: BuildTrainingGraphParameters): TrainingGraph {
  const { loss, optimizer } = parameters
  if (loss !== 'cross-entropy' && loss !== 'mse') throw new InvalidArgumentError('loss', "must be 'cross-entropy' or 'mse'")
  if (!(optimizer in SLOTS)) throw new InvalidArgumentError('optimizer', "must be 'sgd', 'adam' or 'none'")
  const proximal = parameters.proximal === true
  const opset = modelOpset(model)
  if (opset < MIN_TRAINABLE_OPSET || opset > MAX_OPSET_VERSION)
    throw new UnsupportedOpError('opset', `ai.onnx v${opset}`, `is outside the trainable range ${MIN_TRAINABLE_OPSET}..${MAX_OPSET_VERSION}`)
  assertTrainable(model)
  const graph = model.graph ?? {}
  const nodes = graph.node ?? []
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]))
  const dataInputs = (graph.input ?? []).filter((i) => !inits.has(i.name ?? ''))
  if (dataInputs.length !== 1) throw new InvalidArgumentError('model', `must have exactly one data input, has ${dataInputs.length}`)
  const input = dataInputs[0]?.name ?? ''
  if (dataInputs[0]?.type?.tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT)
    throw new InvalidArgumentError('model', `data input ${input} must be a float32 tensor`)
  const output = graph.output?.[0]?.name ?? ''
  const shapes = inferShapes(model)
  const outputShape = shapes.get(output)
  if (outputShape === undefined) throw new InvalidArgumentError('model', `output ${output} is not produced by any node`)

  // Candidate weights: float32 initializers (or the requested subset).
  const floatInits = [...inits.values()].filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT).map((t) => t.name ?? '')
  let candidates = floatInits
  if (parameters.trainable !== undefined) {
    for (const w of parameters.trainable) if (!floatInits.includes(w)) throw new InvalidArgumentError('trainable', `${w} is not a float32 initializer`)
    candidates = [...parameters.trainable]
  }

  // Where the loss starts: for cross-entropy, the logits feeding a final Softmax/LogSoftmax.
  const producer = new Map<string, { node: NodeProto; index: number }>()
  nodes.forEach((node, index) => (node.output ?? []).forEach((o) => producer.set(o, { node, index })))
  let lossFrom = output
  let skipNode = -1
  if (loss === 'cross-entropy') {
    const last = producer.get(output)
    if (last !== undefined && (last.node.opType === 'LogSoftmax' || last.node.opType === 'Softmax')) {
      let axis = attrInt(last.node, 'axis', -1)
      if (axis < 0) axis += outputShape.length
      if (axis === outputShape.length - 1) {
        lossFrom = last.node.input?.[0] ?? ''
        skipNode = last.index
      }
    }
  }

  // Forward dependence: which values a gradient is wanted for.
  const needs = new Set<string>(candidates)
  nodes.forEach((node, index) => {
    if (index === skipNode) return
    if ((node.input ?? []).some((i) => needs.has(i))) for (const o of node.output ?? []) needs.add(o)
  })
  if (!needs.has(lossFrom)) throw new InvalidArgumentError('trainable', 'no trained weight reaches the loss')

  const g = new GraphBuilder(`${graph.name ?? 'model'}_training`)
  g.reserve([...inits.keys(), ...(graph.input ?? []).map((i) => i.name ?? ''), ...nodes.flatMap((n) => [...(n.output ?? []), n.name ?? ''])])
  const constCache = new Map<number, string>()
  const constFloat = (value: number): string => {
    let name = constCache.get(value)
    if (name === undefined) {
      name = g.floats('c', [value], [])
      constCache.set(value, name)
    }
    return name
  }

  // Inputs: data, target, weights; constants stay initializers.
  const inputInfo = dataInputs[0] as NonNullable<(typeof dataInputs)[number]>
  g.addInputInfo(inputInfo)
  const targetShape = outputShape.map((d, i) => (d < 0 ? `d${i}` : d))
  g.input(TARGET_INPUT, 'float32', targetShape)

  // Forward pass, MaxPool nodes given an Indices output for their gradient.
  const indices = new Map<NodeProto, string>()
  nodes.forEach((node) => {
    if (node.opType === 'MaxPool' && (node.input ?? []).some((i) => needs.has(i))) {
      const name = g.unique(`${node.output?.[0] ?? 'maxpool'}.indices`)
      indices.set(node, name)
      g.addNode({ ...node, output: [node.output?.[0] ?? '', name] })
    } else {
      g.addNode(node)
    }
  })

  // Loss and its gradient with respect to `lossFrom`.
  const batch = g.node('Cast', [g.node('Shape', [TARGET_INPUT], { start: 0, end: 1 })], { to: 1 })
  const batchScalar = g.node('ReduceSum', [batch], { keepdims: 0 })
  let lossValue: string
  let dLoss: string
  if (loss === 'cross-entropy') {
    const logp = g.node('LogSoftmax', [lossFrom], { axis: -1 })
    const total = g.node('ReduceSum', [g.node('Mul', [TARGET_INPUT, logp])], { keepdims: 0 })
    lossValue = g.node('Neg', [g.node('Div', [total, batchScalar])])
    // d/dz of −Σ t·log softmax(z) / N, for one-hot rows of t: (softmax(z) − t) / N.
    dLoss = g.node('Div', [g.node('Sub', [g.node('Exp', [logp]), TARGET_INPUT]), batchScalar])
  } else {
    const diff = g.node('Sub', [lossFrom, TARGET_INPUT])
    const count = g.node('Cast', [g.node('Size', [diff])], { to: 1 })
    lossValue = g.node('Div', [g.node('ReduceSum', [g.node('Mul', [diff, diff])], { keepdims: 0 }), count])
    dLoss = g.node('Div', [g.node('Mul', [diff, constFloat(2)]), count])
  }

  // Backward pass in reverse graph order, summing the gradients of values used more than once.
  const grads = new Map<string, string[]>([[lossFrom, [dLoss]]])
  const gradOf = (name: string): string | undefined => {
    const parts = grads.get(name)
    if (parts === undefined || parts.length === 0) return undefined
    let sum = parts[0] as string
    for (const p of parts.slice(1)) sum = g.node('Add', [sum, p])
    grads.set(name, [sum])
    return sum
  }
  const ctx: RuleContext = {
    g,
    shape: (name) => {
      const s = shapes.get(name)
      if (s === undefined) throw new InvalidArgumentError('model', `no shape for ${name}`)
      return s
    },
    needs: (name) => needs.has(name),
    maxPoolIndices: (node) => indices.get(node) ?? '',
    constFloat,
  }
  for (let index = nodes.length - 1; index >= 0; index--) {
    if (index === skipNode) continue
    const node = nodes[index] as NodeProto
    const out = node.output?.[0] ?? ''
    if (!needs.has(out)) continue
    const dY = gradOf(out)
    if (dY === undefined) continue
    const rule = GRADIENT_RULES[node.opType ?? '']
    if (rule === undefined) throw new UnsupportedOpError(node.opType ?? '', nodeLabel(node, index), 'has no gradient rule')
    const dIns = rule(ctx, node, nodeLabel(node, index), dY)
    ;(node.input ?? []).forEach((name, i) => {
      const d = dIns[i]
      if (d === undefined || name === '' || !needs.has(name)) return
      const list = grads.get(name) ?? []
      list.push(d)
      grads.set(name, list)
    })
  }

  const weights = candidates.filter((w) => grads.has(w))
  for (const [name, proto] of inits) if (!weights.includes(name)) g.addInitializer(proto)
  const weightShapes = new Map<string, Shape>()
  for (const w of weights) {
    const s = shapes.get(w) ?? []
    weightShapes.set(w, s)
    g.addInputInfo(valueInfo(w, 'float32', s))
  }

  // FedProx: loss + μ/2·Σ‖w − w_base‖², gradient + μ·(w − w_base).
  const finalGrads = new Map<string, string>()
  let totalLoss = lossValue
  if (proximal) {
    g.input(MU_INPUT, 'float32', [])
    let prox: string | undefined
    for (const w of weights) {
      g.input(baseName(w), 'float32', weightShapes.get(w) ?? [])
      const delta = g.node('Sub', [w, baseName(w)])
      const sq = g.node('ReduceSum', [g.node('Mul', [delta, delta])], { keepdims: 0 })
      prox = prox === undefined ? sq : g.node('Add', [prox, sq])
      finalGrads.set(w, g.node('Add', [gradOf(w) as string, g.node('Mul', [delta, MU_INPUT])]))
    }
    if (prox !== undefined) totalLoss = g.node('Add', [lossValue, g.node('Mul', [prox, g.node('Mul', [MU_INPUT, constFloat(0.5)])])])
  } else {
    for (const w of weights) finalGrads.set(w, gradOf(w) as string)
  }
  g.node('Identity', [totalLoss], {}, LOSS_OUTPUT)
  g.output(LOSS_OUTPUT, 'float32', [])
  g.output(output, 'float32', outputShape.map((d, i) => (d < 0 ? `d${i}` : d)))

  // Optimiser update.
  if (optimizer === 'none') {
    for (const w of weights) {
      g.node('Identity', [finalGrads.get(w) as string], {}, gradName(w))
      g.output(gradName(w), 'float32', weightShapes.get(w) ?? [])
    }
  } else {
    g.input(LR_INPUT, 'float32', [])
    if (optimizer === 'sgd') g.input(MOMENTUM_INPUT, 'float32', [])
    else for (const s of [BETA1_INPUT, BETA2_INPUT, EPSILON_INPUT, BIAS1_INPUT, BIAS2_INPUT]) g.input(s, 'float32', [])
    for (const w of weights) {
      const grad = finalGrads.get(w) as string
      const shape = weightShapes.get(w) ?? []
      for (const slot of SLOTS[optimizer]) g.input(stateName(slot, w), 'float32', shape)
      let update: string
      if (optimizer === 'sgd') {
        // PyTorch's SGD with momentum: v ← μ·v + g; w ← w − lr·v.
        const v = g.node('Add', [g.node('Mul', [stateName('velocity', w), MOMENTUM_INPUT]), grad], {}, newStateName('velocity', w))
        update = g.node('Mul', [v, LR_INPUT])
      } else {
        // Adam (Kingma & Ba 2015, Algorithm 1), with the bias corrections fed per step.
        const one = constFloat(1)
        const m = g.node(
          'Add',
          [g.node('Mul', [stateName('m', w), BETA1_INPUT]), g.node('Mul', [grad, g.node('Sub', [one, BETA1_INPUT])])],
          {},
          newStateName('m', w),
        )
        const v = g.node(
          'Add',
          [g.node('Mul', [stateName('v', w), BETA2_INPUT]), g.node('Mul', [g.node('Mul', [grad, grad]), g.node('Sub', [one, BETA2_INPUT])])],
          {},
          newStateName('v', w),
        )
        const mHat = g.node('Mul', [m, BIAS1_INPUT])
        const denom = g.node('Add', [g.node('Sqrt', [g.node('Mul', [v, BIAS2_INPUT])]), EPSILON_INPUT])
        update = g.node('Mul', [g.node('Div', [mHat, denom]), LR_INPUT])
      }
      g.node('Sub', [w, update], {}, newWeightName(w))
      g.output(newWeightName(w), 'float32', shape)
      for (const slot of SLOTS[optimizer]) g.output(newStateName(slot, w), 'float32', shape)
    }
  }

  const trainingModel = g.build({ opset: Math.max(opset, OPSET_VERSION), docString: `training step (${loss}, ${optimizer}${proximal ? ', FedProx' : ''})` })
  return { model: trainingModel, input, output, weights, shapes: weightShapes, slots: SLOTS[optimizer], loss, optimizer, proximal, outputShape }
}
