// RoundAnnouncement.params: a JSON object of numbers, the strategy's own parameters (e.g. FedProx
// `mu`, a clipped strategy's `maxNorm`) and, optionally, the local training a gateway asks of
// its devices. A device reads both from here, so that gateway and agents agree on the names.
import { MAX_ROUND_PARAMS_LENGTH } from '../constants.js'
import { InvalidArgumentError } from '../errors.js'

/** Keys of the local training hyper-parameters a round may set; absent: the device's own settings. */
export const LOCAL_TRAINING_PARAMS = {
  epochs: 'localEpochs',
  batchSize: 'localBatchSize',
  lr: 'localLr',
} as const

/** Caps a device applies to announced values, so that an announcement cannot make it train for days. */
export const MAX_LOCAL_EPOCHS = 100
export const MAX_LOCAL_BATCH_SIZE = 4096
export const MAX_LOCAL_LR = 10

export interface LocalTraining {
  epochs?: number
  batchSize?: number
  lr?: number
  /** FedProx proximal weight (strategy `fedprox`). */
  mu?: number
  /** L2 bound of the whole update (strategies `clipped-*`): the device clips its delta to it. */
  maxNorm?: number
}

/** Parses `params` strictly: a JSON object of finite numbers, at most MAX_ROUND_PARAMS_LENGTH characters. */
export function parseRoundParams(params: string): Record<string, number> {
  if (typeof params !== 'string' || params.length > MAX_ROUND_PARAMS_LENGTH)
    throw new InvalidArgumentError('params', `must be a string of at most ${MAX_ROUND_PARAMS_LENGTH} characters`)
  if (params === '') return {}
  let value: unknown
  try {
    value = JSON.parse(params)
  } catch {
    throw new InvalidArgumentError('params', 'is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError('params', 'must be a JSON object')
  const out: Record<string, number> = {}
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgumentError(`params.${key}`, 'must be a finite number')
    out[key] = v
  }
  return out
}

/** The local training a round's params ask for, each value checked against its range. */
export function localTrainingOf(params: Readonly<Record<string, number>>): LocalTraining {
  const out: LocalTraining = {}
  const int = (key: string, max: number): number | undefined => {
    const v = params[key]
    if (v === undefined) return undefined
    if (!Number.isSafeInteger(v) || v < 1 || v > max) throw new InvalidArgumentError(`params.${key}`, `must be an integer in 1..${max}`)
    return v
  }
  const positive = (key: string, max: number, allowZero = false): number | undefined => {
    const v = params[key]
    if (v === undefined) return undefined
    if (!(allowZero ? v >= 0 : v > 0) || v > max) throw new InvalidArgumentError(`params.${key}`, `must be in ${allowZero ? '[0' : '(0'}, ${max}]`)
    return v
  }
  const epochs = int(LOCAL_TRAINING_PARAMS.epochs, MAX_LOCAL_EPOCHS)
  const batchSize = int(LOCAL_TRAINING_PARAMS.batchSize, MAX_LOCAL_BATCH_SIZE)
  const lr = positive(LOCAL_TRAINING_PARAMS.lr, MAX_LOCAL_LR)
  const mu = positive('mu', 1e6, true)
  const maxNorm = positive('maxNorm', Number.MAX_VALUE)
  if (epochs !== undefined) out.epochs = epochs
  if (batchSize !== undefined) out.batchSize = batchSize
  if (lr !== undefined) out.lr = lr
  if (mu !== undefined) out.mu = mu
  if (maxNorm !== undefined) out.maxNorm = maxNorm
  return out
}
