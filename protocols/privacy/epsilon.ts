// Conversion of an RDP curve to (ε, δ)-DP with the improved bound of Balle et al. 2020,
// "Hypothesis Testing Interpretations and Renyi Differential Privacy" (arXiv:2004.00010,
// Proposition 12; also Asoodeh et al., arXiv:2001.05990 eq. 20):
//   ε = min over α of  RDP(α) + log((α − 1)/α) − (log δ + log α)/(α − 1),
// the conversion TensorFlow Privacy's and Opacus's RDP accountants use.
import { InvalidArgumentError } from '../errors.js'
import { MIN_CONVERSION_ORDER, RDP_ORDERS } from './constants.js'

export interface EpsilonFromRdpParameters {
  rdp: readonly number[]
  delta: number
  orders?: readonly number[]
}

export interface EpsilonFromRdpReturnType {
  epsilon: number
  /** The order that gave the tightest bound. */
  order: number
}

export function epsilonFromRdp({ rdp, delta, orders = RDP_ORDERS }: EpsilonFromRdpParameters): EpsilonFromRdpReturnType {
  if (!(delta > 0 && delta < 1)) throw new InvalidArgumentError('delta', `must be in (0, 1), got ${delta}`)
  if (rdp.length !== orders.length) throw new InvalidArgumentError('rdp', `has ${rdp.length} values for ${orders.length} orders`)
  let best = Infinity
  let order = orders[0] ?? NaN
  orders.forEach((alpha, i) => {
    const r = rdp[i] as number
    if (!(alpha >= 1)) throw new InvalidArgumentError(`orders.${i}`, `must be ≥ 1, got ${alpha}`)
    let eps: number
    if (r < 0 || Number.isNaN(r)) throw new InvalidArgumentError(`rdp.${i}`, `must be ≥ 0, got ${r}`)
    // KL bound: δ ≥ sqrt(1 − e^{−RDP}) already gives ε = 0.
    else if (delta * delta + Math.expm1(-r) > 0) eps = 0
    else if (alpha > MIN_CONVERSION_ORDER) eps = r + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1)
    else eps = Infinity
    if (eps < best) {
      best = eps
      order = alpha
    }
  })
  return { epsilon: Math.max(0, best), order }
}
