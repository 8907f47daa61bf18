// Inference and training speed of the reference models. Prints a table and writes
// bench/results/ml.json. Comparisons are within the run: each engine's `run` against a bare
// ONNX Runtime `session.run` on the same model (the engine's overhead, goal <= 5%).
import * as ortWeb from 'onnxruntime-web'
import { buildAutoencoder, buildCnn1d, buildDigitsMlp, encodeModel } from '../protocols/index.js'
import { OrtWebEngine, createOrtNodeEngine, loadOrtNode, type InferenceEngine } from '../hardware/inference/index.js'
import { printTable, withRatios, writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const RUNS = quick ? 200 : 2000

interface BareSession {
  run(feeds: Record<string, unknown>): Promise<unknown>
  release(): Promise<void>
}

const models = [
  { name: 'digits MLP 64-32-10', bytes: encodeModel(buildDigitsMlp(1)), shape: [64] },
  { name: '1-D CNN 1x256 [8,16]', bytes: encodeModel(buildCnn1d({ channels: 1, length: 256, classes: 2, filters: [8, 16], kernel: 5, hidden: 32, seed: 2 })), shape: [1, 256] },
  { name: 'autoencoder 360-64-16', bytes: encodeModel(buildAutoencoder({ inputs: 360, hidden: [64], latent: 16, seed: 3 })), shape: [360] },
]

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number

/** Latencies in ms of `RUNS` calls, measured one by one after a warm-up. */
async function latencies(call: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(50, RUNS / 4); i++) await call()
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    await call()
    times.push(performance.now() - start)
  }
  return times.sort((a, b) => a - b)
}

async function inferenceRows(): Promise<Row[]> {
  const rows: Row[] = []
  const ortNode = await loadOrtNode()
  type Runtime = { label: string; engine: () => Promise<InferenceEngine>; bare: (bytes: Uint8Array) => Promise<BareSession>; tensor: (data: Float32Array, dims: number[]) => unknown }
  const runtimes: Runtime[] = [
    {
      label: 'onnxruntime-web',
      engine: async () => new OrtWebEngine(),
      bare: (bytes) => ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }),
      tensor: (data, dims) => new ortWeb.Tensor('float32', data, dims),
    },
  ]
  if (ortNode !== undefined) {
    const mod = (await import('onnxruntime-node')) as unknown as typeof ortWeb
    runtimes.push({
      label: 'onnxruntime-node',
      engine: () => createOrtNodeEngine(),
      bare: (bytes) => mod.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' }),
      tensor: (data, dims) => new mod.Tensor('float32', data, dims),
    })
  }
  for (const model of models) {
    for (const runtime of runtimes) {
      const engine = await runtime.engine()
      await engine.load(model.bytes)
      const bare = await runtime.bare(model.bytes)
      for (const batch of [1, 32]) {
        const dims = [batch, ...model.shape]
        const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i))
        const group = `${model.name}, batch ${batch}`
        const bareTimes = await latencies(() => bare.run({ input: runtime.tensor(data, dims) }))
        const engineTimes = await latencies(() => engine.run({ input: { dtype: 'float32', shape: dims, data } }))
        const base = `${runtime.label} bare session.run p50`
        rows.push({ group, name: base, value: percentile(bareTimes, 50), unit: 'ms' })
        rows.push({ group, name: `${runtime.label} engine p50`, value: percentile(engineTimes, 50), unit: 'ms', baseline: base })
        rows.push({ group, name: `${runtime.label} engine p99`, value: percentile(engineTimes, 99), unit: 'ms' })
      }
      await bare.release()
      await engine.dispose()
    }
  }
  return rows
}

const rows = withRatios(await inferenceRows())
const peakRssMiB = process.resourceUsage().maxRSS / 1024
rows.push({ group: 'process', name: 'peak resident memory', value: peakRssMiB, unit: 'MiB' })
printTable('ml: inference latency (engine vs bare session.run) and memory', rows)
console.log(`wrote ${writeResults('ml', rows, { runs: RUNS })}`)
