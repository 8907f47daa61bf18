// The array arithmetic of the strategies. Sums run in float64 in a fixed order and are rounded
// to float32 once, at the end, so results do not depend on the platform.
import type { Address } from 'viem'
import { isAddress } from 'viem/utils'
import { InvalidArgumentError } from '../errors.js'
import { firstNonFinite, type NamedTensor } from '../tensors/named-tensor.js'
import type { ClientUpdate, Weights } from './types.js'

export const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i])

/** Sees one delta tensor after its name and shape are checked; false when it holds a non-finite value. */
export type TensorVisitor = (update: ClientUpdate, tensor: number, data: Float32Array) => boolean

const allFinite: TensorVisitor = (_update, _tensor, data) => firstNonFinite(data) < 0

/**
 * Checks an update against the base (names, shapes, finite values) and its place in the order.
 * `visit` sees each tensor once its shape is checked and decides whether its values are finite,
 * so that a strategy can check them in the same pass that sums them.
 */
export function checkUpdate(base: Weights, update: ClientUpdate, index: number, previous: Address | undefined, visit: TensorVisitor = allFinite): void {
  const field = (f: string) => `updates.${index}.${f}`
  if (!isAddress(update.device, { strict: false })) throw new InvalidArgumentError(field('device'), 'not an address')
  if (previous !== undefined && !(previous.toLowerCase() < update.device.toLowerCase()))
    throw new InvalidArgumentError(field('device'), 'updates must come in strictly ascending device order')
  if (!Number.isSafeInteger(update.sampleCount) || update.sampleCount < 1) throw new InvalidArgumentError(field('sampleCount'), 'must be a positive integer')
  if (update.delta.length !== base.length) throw new InvalidArgumentError(field('delta'), `has ${update.delta.length} tensors, the model ${base.length}`)
  update.delta.forEach((t, i) => {
    const b = base[i] as NamedTensor<'float32'>
    if (t.name !== b.name || !sameShape(t.shape, b.shape) || !(t.data instanceof Float32Array) || t.data.length !== b.data.length)
      throw new InvalidArgumentError(field(`delta.${i}`), `does not match the model's ${b.name} [${b.shape.join(', ')}]`)
    if (!visit(update, i, t.data)) throw new InvalidArgumentError(field(`delta.${i}`), 'holds a non-finite value')
  })
}

export const toWeights = (base: Weights, values: readonly ArrayLike<number>[]): NamedTensor<'float32'>[] =>
  base.map((t, i) => ({ name: t.name, dtype: 'float32', shape: [...t.shape], data: Float32Array.from(values[i] as ArrayLike<number>) }))

/** base + step, per tensor. */
export const applyDelta = (base: Weights, step: readonly ArrayLike<number>[]): NamedTensor<'float32'>[] =>
  toWeights(base, base.map((t, i) => Float64Array.from(t.data, (w, j) => w + ((step[i] as ArrayLike<number>)[j] as number))))

/** weights − base, per tensor: the delta a strategy's result makes. */
export const subtractWeights = (weights: Weights, base: Weights): NamedTensor<'float32'>[] =>
  weights.map((w, i) => ({ ...w, data: Float32Array.from(w.data, (v, j) => v - ((base[i]?.data[j] ?? 0) as number)) }))

/** Squared L2 norm of a delta over all its tensors. */
export function squaredNorm(delta: Weights): number {
  let sum = 0
  for (const t of delta) for (const v of t.data) sum += v * v
  return sum
}

/** Squared L2 distance between two deltas. */
export function squaredDistance(a: Weights, b: Weights): number {
  let sum = 0
  a.forEach((t, i) => {
    const other = (b[i] as NamedTensor<'float32'>).data
    for (let j = 0; j < t.data.length; j++) {
      const d = (t.data[j] as number) - (other[j] as number)
      sum += d * d
    }
  })
  return sum
}

/** The updates, each checked (see checkUpdate, which passes `visit` on) before it is yielded. */
export async function* inOrder(updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>, base: Weights, visit?: TensorVisitor): AsyncGenerator<ClientUpdate> {
  let previous: Address | undefined
  let index = 0
  for await (const update of updates) {
    checkUpdate(base, update, index++, previous, visit)
    previous = update.device
    yield update
  }
  if (index === 0) throw new InvalidArgumentError('updates', 'a round needs at least one update')
}
