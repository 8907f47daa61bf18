// The strategy a round announces, rebuilt from its name and parameters: the gateway uses it to
// aggregate and an auditor to recompute.
import { InvalidArgumentError } from '../errors.js'
import { withClipping } from './clipping.js'
import { FedAvg, FedProx } from './fedavg.js'
import { CoordinateMedian, Krum, TrimmedMean } from './robust.js'
import { FedAdagrad, FedAdam, FedYogi } from './server-optimisers.js'
import type { Strategy } from './types.js'

const CLIPPED = 'clipped-'

export function strategyFor(name: string, params: Readonly<Record<string, number>> = {}): Strategy {
  if (name.startsWith(CLIPPED)) {
    const { maxNorm, ...rest } = params
    if (maxNorm === undefined) throw new InvalidArgumentError('params.maxNorm', `${name} needs maxNorm`)
    return withClipping(strategyFor(name.slice(CLIPPED.length), rest), maxNorm)
  }
  const optional = (key: string) => (params[key] === undefined ? {} : { [key]: params[key] })
  const weighting = () => {
    const weighted = params.weighted
    if (weighted === undefined) return {}
    if (weighted !== 0 && weighted !== 1) throw new InvalidArgumentError('params.weighted', 'must be 0 or 1')
    return { weighted: weighted === 1 }
  }
  switch (name) {
    case 'fedavg':
      return new FedAvg()
    case 'fedprox':
      return new FedProx({ mu: params.mu ?? 0 })
    case 'fedadam':
      return new FedAdam({ ...optional('lr'), ...optional('beta1'), ...optional('beta2'), ...optional('tau') })
    case 'fedyogi':
      return new FedYogi({ ...optional('lr'), ...optional('beta1'), ...optional('beta2'), ...optional('tau') })
    case 'fedadagrad':
      return new FedAdagrad({ ...optional('lr'), ...optional('beta1'), ...optional('beta2'), ...optional('tau') })
    case 'median':
      return new CoordinateMedian(weighting())
    case 'trimmed-mean':
      return new TrimmedMean({ ...optional('trim'), ...weighting() })
    case 'krum':
    case 'multi-krum':
      return new Krum({ byzantine: params.byzantine ?? 0, ...optional('select') })
    default:
      throw new InvalidArgumentError('strategy', `unknown strategy ${JSON.stringify(name)}`)
  }
}
