// An in-process simulated fleet: many devices in one process, each training with the same code a
// real agent runs (edge-agent/training), and the gateway aggregating with protocols/aggregation.
// Digits split non-IID over the devices by a Dirichlet(α) draw per class, with a fixed seed.
import * as ort from 'onnxruntime-web'
import { getAddress, type Address } from 'viem'
import {
  buildDigitsMlp,
  decodeModel,
  encodeModel,
  readInitializers,
  replaceInitializers,
  type ClientUpdate,
  type ModelProto,
  type NamedTensor,
  type Strategy,
} from '../../protocols/index.js'
import { accuracy, permutation, predict, seededGenerator, train } from '../../edge-agent/training/index.js'
import { dirichletSplit } from '../../cli/demo/dirichlet-split.js'
import { loadDigits, subset, type LabelledSet } from './datasets.js'

ort.env.wasm.numThreads = 1

export interface FleetSimulation {
  test: LabelledSet
  shards: LabelledSet[]
  devices: Address[]
  baseModel: ModelProto
}

export function digitsFleet(devices: number, alpha: number, seed: number): FleetSimulation {
  const digits = loadDigits()
  const order = permutation(digits.count, seededGenerator(1))
  const nTest = Math.round(digits.count * 0.2)
  const test = subset(digits, order.subarray(0, nTest))
  const training = subset(digits, order.subarray(nTest))
  const shards = dirichletSplit(training.labels, 10, devices, alpha, seed)
    .map((indices) => subset(training, indices))
  return {
    test,
    shards,
    devices: shards.map((_, i) => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`)),
    baseModel: buildDigitsMlp(1, [32]),
  }
}

export interface RunOptions {
  rounds: number
  strategy: Strategy
  /** Devices whose updates are sign-flipped and scaled (an attack). */
  attackers?: ReadonlySet<number>
  attackScale?: number
  /** The sample count attackers claim (default: their shard's true count). */
  attackerSampleCount?: number
  localEpochs?: number
  lr?: number
}

/** Runs `rounds` rounds and returns the test accuracy after each. */
export async function runFleet(fleet: FleetSimulation, options: RunOptions): Promise<number[]> {
  const { rounds, strategy, attackers = new Set<number>(), attackScale = 10, attackerSampleCount, localEpochs = 1, lr = 0.1 } = options
  let model = fleet.baseModel
  let state: NamedTensor<'float32'>[] = []
  const history: number[] = []
  const byName = <T extends { name: string }>(ts: T[]) => ts.sort((a, b) => (a.name < b.name ? -1 : 1))
  for (let round = 0; round < rounds; round++) {
    const base = byName(readInitializers(model, { floatOnly: true }) as NamedTensor<'float32'>[])
    const updates: ClientUpdate[] = []
    for (const [i, shard] of fleet.shards.entries()) {
      if (shard.count === 0) continue
      const result = await train(
        model,
        { features: shard.features, sampleShape: [64], labels: shard.labels },
        { epochs: localEpochs, batchSize: 32, lr, optimizer: 'sgd', seed: round * 1000 + i },
      )
      const scale = attackers.has(i) ? -attackScale : 1
      const weights = new Map(result.weights.map((w) => [w.name, w]))
      const delta = base.map((b) => {
        const w = weights.get(b.name)?.data ?? b.data
        return { ...b, data: Float32Array.from(b.data, (v, j) => scale * ((w[j] as number) - v)) }
      })
      const sampleCount = attackers.has(i) ? (attackerSampleCount ?? shard.count) : shard.count
      updates.push({ device: fleet.devices[i] as Address, sampleCount, delta })
    }
    const aggregated = await strategy.aggregate(base, updates, state)
    state = aggregated.state
    model = decodeModel(encodeModel(replaceInitializers(model, aggregated.weights)))
    history.push(accuracy(await predict(model, fleet.test.features, [64]), fleet.test.labels))
  }
  return history
}
