// Runs training graphs on an inference engine of hardware/inference, so that training uses the
// same runtime and execution provider as inference on the device (onnxruntime-node with the
// profile's accelerator, or onnxruntime-web).
import type { InferenceEngine, Inputs } from '../../hardware/inference/index.js'
import type { FloatTensor, GraphRunnerFactory } from './graph-runner.js'

/** A GraphRunnerFactory that loads each training graph into a fresh engine from `create`. */
export function engineRunner(create: () => InferenceEngine | Promise<InferenceEngine>): GraphRunnerFactory {
  return async (model) => {
    const engine = await create()
    await engine.load(model)
    return {
      async run(feeds) {
        const inputs: Record<string, Inputs[string]> = {}
        for (const [name, t] of Object.entries(feeds)) {
          // Engines take ArrayBuffer-backed data; the training loop never uses shared memory.
          inputs[name] = { dtype: 'float32', shape: t.dims, data: t.data as Float32Array<ArrayBuffer> }
        }
        const outputs = await engine.run(inputs)
        const out: Record<string, FloatTensor> = {}
        for (const [name, t] of Object.entries(outputs)) if (t.data instanceof Float32Array) out[name] = { data: t.data, dims: t.shape }
        return out
      },
      dispose: () => engine.dispose(),
    }
  }
}
