// What training needs of an ONNX runtime: load a graph once, run it many times on float32
// tensors. The default is onnxruntime-web (WASM), the project's default engine; an inference
// engine from hardware/inference can be adapted to this interface to train on its accelerator.
import * as ort from 'onnxruntime-web'

export interface FloatTensor {
  readonly data: Float32Array
  readonly dims: readonly number[]
}

export interface GraphRunner {
  run(feeds: Readonly<Record<string, FloatTensor>>): Promise<Record<string, FloatTensor>>
  dispose(): Promise<void>
}

export type GraphRunnerFactory = (model: Uint8Array) => Promise<GraphRunner>

/** onnxruntime-web on its WASM backend. Threads follow `ort.env.wasm.numThreads`, which the caller sets. */
export const ortWebRunner: GraphRunnerFactory = async (model) => {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' })
  return {
    async run(feeds) {
      const inputs: Record<string, ort.Tensor> = {}
      for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor('float32', t.data, t.dims)
      const results = await session.run(inputs)
      const out: Record<string, FloatTensor> = {}
      for (const [name, t] of Object.entries(results)) {
        // The runtime hands back float32 for every output of these graphs.
        out[name] = { data: t.data as Float32Array, dims: t.dims }
      }
      return out
    },
    async dispose() {
      await session.release()
    },
  }
}
