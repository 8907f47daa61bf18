// Building blocks of the reference models. Weight layouts follow PyTorch (Linear: [out, in],
// used by Gemm with transB = 1; Conv1d: [out, in, kernel]) so weights move between the two as is.
import { InvalidArgumentError } from '../errors.js'
import { float } from './attributes.js'
import { MAX_LAYER_WIDTH } from './constants.js'
import type { GraphBuilder } from './graph-builder.js'
import type { WeightInit } from './init.js'

export function checkWidth(field: string, value: unknown, max = MAX_LAYER_WIDTH): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max)
    throw new InvalidArgumentError(field, `must be an integer in 1..${max}`)
  return value as number
}

export function checkWidths(field: string, value: unknown, maxLayers: number): number[] {
  if (!Array.isArray(value) || value.length > maxLayers) throw new InvalidArgumentError(field, `must be an array of at most ${maxLayers} widths`)
  return value.map((v, i) => checkWidth(`${field}[${i}]`, v))
}

/** Gemm(x, W, b) with W [out, in]; `relu` appends a Relu. He init before a ReLU, Glorot otherwise. */
export function dense(g: GraphBuilder, init: WeightInit, prefix: string, x: string, inputs: number, outputs: number, relu: boolean): string {
  const w = g.initializer(relu ? init.he(`${prefix}.weight`, [outputs, inputs], inputs) : init.glorot(`${prefix}.weight`, [outputs, inputs], inputs, outputs))
  const b = g.initializer(init.zeros(`${prefix}.bias`, [outputs]))
  const y = g.node('Gemm', [x, w, b], { transB: 1, alpha: float(1), beta: float(1) })
  return relu ? g.node('Relu', [y]) : y
}
