// What the two ONNX Runtime packages share: both expose onnxruntime-common's InferenceSession and
// Tensor, so one backend class serves both, given the package and its session options.
import type { InferenceSession, Tensor as OrtTensor, TypedTensor } from 'onnxruntime-common'
import type { DType } from '../../protocols/index.js'
import { InferenceEngine, type ModelInfo } from './engine.js'
import type { Inputs, Outputs, Tensor } from './tensor.js'

/** The part of an onnxruntime package the engine uses. */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> }
  Tensor: new (type: OrtTensor.Type, data: Tensor['data'], dims: readonly number[]) => OrtTensor
}

const valueInfo = (meta: readonly InferenceSession.ValueMetadata[]) =>
  meta.map((m) => (m.isTensor ? { name: m.name, dtype: m.type as string, shape: [...m.shape] } : { name: m.name, dtype: 'non-tensor', shape: [] }))

export abstract class OrtSessionEngine extends InferenceEngine {
  #session: InferenceSession | undefined
  #ort: OrtModule | undefined

  protected abstract module(): Promise<OrtModule>
  protected abstract sessionOptions(): InferenceSession.SessionOptions

  protected override async _load(model: Uint8Array): Promise<ModelInfo> {
    const ort = await this.module()
    this.#ort = ort
    this.#session = await ort.InferenceSession.create(model, this.sessionOptions())
    return { inputs: valueInfo(this.#session.inputMetadata), outputs: valueInfo(this.#session.outputMetadata) }
  }

  protected override async _run(inputs: Inputs): Promise<Outputs> {
    const session = this.#session
    const ort = this.#ort
    if (session === undefined || ort === undefined) throw new Error('no session')
    const feeds: Record<string, OrtTensor> = {}
    for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor(t.dtype, t.data, t.shape)
    const results = await session.run(feeds)
    const outputs: Outputs = {}
    for (const [name, value] of Object.entries(results)) {
      const t = value as TypedTensor<DType>
      // CPU tensors hold plain typed arrays: nothing to release.
      outputs[name] = { dtype: t.type, shape: [...t.dims], data: t.data as Tensor['data'] }
    }
    return outputs
  }

  protected override async _dispose(): Promise<void> {
    const session = this.#session
    this.#session = undefined
    await session?.release()
  }
}
