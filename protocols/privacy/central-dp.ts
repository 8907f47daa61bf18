// Central differential privacy as a strategy wrapper (DP-FedAvg, McMahan et al. 2018, with fixed
// clipping as in Flower's DifferentialPrivacyServerSideFixedClipping): the gateway clips every
// update to C, takes their unweighted mean (so one device moves it by at most C/n), and adds
// N(0, (σ·C/n)²) to every coordinate of the new model. Only a mean can be privatised this way:
// the wrapper accepts FedAvg and FedProx and refuses anything else.
import { PrivacyStrategyError } from '../errors.js'
import { clipUpdate } from '../aggregation/clipping.js'
import type { AggregateResult, ClientUpdate, RoundConfig, Strategy, Weights } from '../aggregation/types.js'
import { cryptoGaussian, type GaussianSource } from './gaussian-noise.js'

/** Inner strategies whose aggregate is a mean of the deltas. */
export const MEAN_STRATEGIES: readonly string[] = ['fedavg', 'fedprox']

export interface CentralDpOptions {
  clipNorm: number
  noiseMultiplier: number
  /** Where the noise comes from; `null` aggregates without noise (what an auditor recomputes). */
  gaussian?: GaussianSource | null
}

export class CentralDpStrategy implements Strategy {
  readonly name: string
  readonly #gaussian: GaussianSource | null

  constructor(
    readonly inner: Strategy,
    readonly options: CentralDpOptions,
  ) {
    if (!MEAN_STRATEGIES.includes(inner.name)) throw new PrivacyStrategyError(inner.name, 'central DP', `only a mean can be noised (${MEAN_STRATEGIES.join(', ')})`)
    this.name = inner.name
    this.#gaussian = options.gaussian === undefined ? cryptoGaussian() : options.gaussian
  }

  configure(): RoundConfig {
    return this.inner.configure()
  }

  async aggregate(base: Weights, updates: AsyncIterable<ClientUpdate> | Iterable<ClientUpdate>, state?: Weights): Promise<AggregateResult> {
    const { clipNorm } = this.options
    async function* clipped() {
      // Unweighted: a sample count would let one device weigh more than C/n.
      for await (const update of updates) yield { ...clipUpdate(update, clipNorm), sampleCount: 1 }
    }
    const result = await this.inner.aggregate(base, clipped(), state)
    const gaussian = this.#gaussian
    if (gaussian === null || result.used.length === 0) return result
    const std = centralNoiseStd(this.options, result.used.length)
    const weights = result.weights.map((t) => {
      const data = new Float32Array(t.data.length)
      for (let i = 0; i < data.length; i++) data[i] = (t.data[i] as number) + std * gaussian()
      return { ...t, data }
    })
    return { ...result, weights }
  }
}

/** Standard deviation of the central noise on each coordinate of the mean of n updates: σ·C/n. */
export const centralNoiseStd = ({ clipNorm, noiseMultiplier }: { clipNorm: number; noiseMultiplier: number }, n: number): number => (noiseMultiplier * clipNorm) / n

export const withCentralDp = (inner: Strategy, options: CentralDpOptions): Strategy => new CentralDpStrategy(inner, options)
