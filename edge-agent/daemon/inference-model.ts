// The model the agent runs: an inference engine (hardware/inference) loaded with one settled
// model. A swap loads the new engine completely before the daemon switches its reference, so
// inference never stops; the old engine is disposed after its last run.
import type { Hex } from 'viem'
import { decodeModel } from '../../protocols/index.js'
import type { InferenceEngine } from '../../hardware/inference/index.js'
import { argmax } from '../training/index.js'
import { modelIo, type ModelIo } from './local-training.js'

export class LoadedModel {
  readonly hash: Hex
  /** The round that settled it. */
  readonly round: bigint
  readonly io: ModelIo
  readonly #engine: InferenceEngine
  readonly #input: string
  readonly #output: string

  private constructor(hash: Hex, round: bigint, io: ModelIo, engine: InferenceEngine) {
    this.hash = hash
    this.round = round
    this.io = io
    this.#engine = engine
    this.#input = engine.inputs[0]?.name ?? io.input
    this.#output = engine.outputs[0]?.name ?? ''
  }

  static async load(bytes: Uint8Array, hash: Hex, round: bigint, createEngine: () => Promise<InferenceEngine>): Promise<LoadedModel> {
    const io = modelIo(decodeModel(bytes)) // a model without static sample dimensions is refused before an engine is made
    const engine = await createEngine()
    try {
      await engine.load(bytes)
    } catch (err) {
      await engine.dispose()
      throw err
    }
    return new LoadedModel(hash, round, io, engine)
  }

  /** Runs one sample; the first output's values. */
  async run(features: Float32Array): Promise<Float32Array> {
    const out = await this.#engine.run({ [this.#input]: { dtype: 'float32', shape: [1, ...this.io.sampleShape], data: features as Float32Array<ArrayBuffer> } })
    const data = out[this.#output]?.data
    return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>)
  }

  async dispose(): Promise<void> {
    await this.#engine.dispose()
  }
}

/** The class a classifier's output picks, and its output value (a log-probability for the reference MLP). */
export function topClass(output: Float32Array): { index: number; value: number } {
  const index = argmax(output, 0, output.length)
  return { index, value: output[index] as number }
}
