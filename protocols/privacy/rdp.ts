// Rényi DP of the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019, "Rényi Differential
// Privacy of the Sampled Gaussian Mechanism", arXiv:1908.10530): a record is included with
// probability q and the sum gets Gaussian noise of σ times its L2 sensitivity. For order α,
//   RDP(α) = log(A_α) / (α − 1),
// with A_α from the binomial expansion for integer α (§3.2) and from the two-sided series with
// erfc tails for fractional α (§3.3). The same computation TensorFlow Privacy and Opacus run.
import { InvalidArgumentError } from '../errors.js'
import { MAX_FRACTIONAL_TERMS, RDP_ORDERS } from './constants.js'
import { logAdd, logComb, logErfc } from './special-functions.js'

/** log(A_α) for integer α ≥ 1 and 0 < q < 1 (§3.2, eq. for integer α). */
function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity
  const logQ = Math.log(q)
  const log1mq = Math.log1p(-q)
  for (let i = 0; i <= alpha; i++) {
    const coef = logComb(alpha, i) + i * logQ + (alpha - i) * log1mq
    logA = logAdd(logA, coef + (i * i - i) / (2 * sigma * sigma))
  }
  return logA
}

/** log(A_α) for fractional α > 1 and 0 < q < 1 (§3.3): the integrals below and above z0. */
function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity
  let logA1 = -Infinity
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5
  const logQ = Math.log(q)
  const log1mq = Math.log1p(-q)
  const logHalf = Math.log(0.5)
  const root2Sigma = Math.SQRT2 * sigma
  let lastS0 = -Infinity
  let lastS1 = -Infinity
  for (let i = 0; i < MAX_FRACTIONAL_TERMS; i++) {
    const coef = logComb(alpha, i)
    const j = alpha - i
    const s0 = coef + i * logQ + j * log1mq + (i * i - i) / (2 * sigma * sigma) + logHalf + logErfc((i - z0) / root2Sigma)
    const s1 = coef + j * logQ + i * log1mq + (j * j - j) / (2 * sigma * sigma) + logHalf + logErfc((z0 - j) / root2Sigma)
    logA0 = logAdd(logA0, s0)
    logA1 = logAdd(logA1, s1)
    const total = logAdd(logA0, logA1)
    // Both series decreasing and their terms negligible next to the sum: converged.
    if (s0 < lastS0 && s1 < lastS1 && Math.max(s0, s1) < total - 30) return total
    lastS0 = s0
    lastS1 = s1
  }
  // Not converged: this order gives no bound, and the conversion skips it.
  return Infinity
}

export interface ComputeRdpParameters {
  /** Probability that a given participant is included in one step, in [0, 1]. */
  sampleRate: number
  /** Noise standard deviation over L2 sensitivity, ≥ 0 (0: no privacy). */
  noiseMultiplier: number
  /** Steps composed (rounds, here), a non-negative integer. */
  steps: number
  orders?: readonly number[]
}

/** RDP of `steps` compositions of the sampled Gaussian mechanism at each order (Infinity where unbounded). */
export function computeRdp({ sampleRate: q, noiseMultiplier: sigma, steps, orders = RDP_ORDERS }: ComputeRdpParameters): number[] {
  if (!(q >= 0 && q <= 1)) throw new InvalidArgumentError('sampleRate', `must be in [0, 1], got ${q}`)
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new InvalidArgumentError('noiseMultiplier', `must be a finite number ≥ 0, got ${sigma}`)
  if (!Number.isSafeInteger(steps) || steps < 0) throw new InvalidArgumentError('steps', `must be a non-negative integer, got ${steps}`)
  return orders.map((alpha, i) => {
    if (!(alpha > 1)) throw new InvalidArgumentError(`orders.${i}`, `must be > 1, got ${alpha}`)
    if (q === 0 || steps === 0) return 0
    if (alpha === Infinity || sigma === 0) return Infinity
    if (q === 1) return (steps * alpha) / (2 * sigma * sigma)
    const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha)
    return (steps * logA) / (alpha - 1)
  })
}
