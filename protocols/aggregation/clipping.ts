// Update-norm clipping as a wrapper around any strategy (as Flower's DP wrappers are): each
// delta whose L2 norm exceeds `maxNorm` is scaled down to it, then the inner strategy aggregates.
import { InvalidArgumentError } from '../errors.js'
import type { NamedTensor } from '../tensors/named-tensor.js'
import { squaredNorm } from './tensor-math.js'
import type { AggregateResult, ClientUpdate, RoundConfig, Strategy, Weights } from './types.js'

export function clipUpdate(update: ClientUpdate, maxNorm: number): ClientUpdate {
  const norm = Math.sqrt(squaredNorm(update.delta))
  if (norm <= maxNorm) return update
  const scale = maxNorm / norm
  const delta: NamedTensor<'float32'>[] = update.delta.map((t) => ({ ...t, data: Float32Array.from(t.data, (v) => v * scale) }))
  return { ...update, delta }
}

export class ClippedStrategy implements Strategy {
  readonly name: string
  constructor(
    readonly inner: Strategy,
    readonly maxNorm: number,
  ) {
    if (!(Number.isFinite(maxNorm) && maxNorm > 0)) throw new InvalidArgumentError('maxNorm', 'must be a finite number > 0')
    this.name = `clipped-${inner.name}`
  }

  configure(): RoundConfig {
    const inner = this.inner.configure()
    return { strategy: this.name, params: { ...inner.params, maxNorm: this.maxNorm } }
  }

  aggregate(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>, state?: Weights): Promise<AggregateResult> {
    const maxNorm = this.maxNorm
    async function* clipped() {
      for await (const update of updates) yield clipUpdate(update, maxNorm)
    }
    return this.inner.aggregate(base, clipped(), state)
  }
}

export const withClipping = (inner: Strategy, maxNorm: number): Strategy => new ClippedStrategy(inner, maxNorm)
