// Both engines give the same outputs, within 1e-5, for each reference model on random inputs.
import t from 'tap'
import { buildAutoencoder, buildCnn1d, buildDigitsMlp, buildWineMlp, encodeModel } from '../../../protocols/index.js'
import { OrtWebEngine, createOrtNodeEngine, type InferenceEngine } from '../../../hardware/inference/index.js'

const TOLERANCE = 1e-5

const models = {
  'digits MLP': { bytes: encodeModel(buildDigitsMlp(1)), shape: [64] },
  'wine MLP': { bytes: encodeModel(buildWineMlp(2)), shape: [13] },
  '1-D CNN': { bytes: encodeModel(buildCnn1d({ channels: 2, length: 64, classes: 3, filters: [4, 8], kernel: 5, hidden: 16, seed: 3 })), shape: [2, 64] },
  autoencoder: { bytes: encodeModel(buildAutoencoder({ inputs: 90, hidden: [32], latent: 8, seed: 4 })), shape: [90] },
}

let seed = 12345
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 2

for (const [name, { bytes, shape }] of Object.entries(models)) {
  t.test(name, async (t) => {
    const engines: InferenceEngine[] = [new OrtWebEngine(), await createOrtNodeEngine()]
    for (const engine of engines) await engine.load(bytes)
    for (const batch of [1, 7, 32]) {
      const data = Float32Array.from({ length: batch * shape.reduce((a, b) => a * b, 1) }, random)
      const [web, node] = await Promise.all(engines.map((e) => e.run({ input: { dtype: 'float32', shape: [batch, ...shape], data } })))
      const a = web?.output?.data as Float32Array
      const b = node?.output?.data as Float32Array
      let worst = 0
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)))
      t.ok(a.length > 0 && a.length === b.length && worst <= TOLERANCE, `batch ${batch}: largest difference ${worst.toExponential(2)} <= ${TOLERANCE}`)
    }
    for (const engine of engines) await engine.dispose()
  })
}
