// Inference and training speed of the reference models. Prints a table and writes
// bench/results/ml.json. Comparisons are within the run: each engine's `run` against a bare
// ONNX Runtime `session.run` on the same model (the engine's overhead, goal <= 5%).
import * as ortWeb from 'onnxruntime-web'
import { buildAutoencoder, buildCnn1d, buildDigitsMlp, encodeModel } from '../protocols/index.js'
import { OrtWebEngine, createOrtNodeEngine, loadOrtNode, type InferenceEngine } from '../hardware/inference/index.js'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { accuracy, engineRunner, permutation, predict, seededGenerator, train } from '../edge-agent/training/index.js'
import { loadDigits, subset } from '../test/helpers/datasets.js'
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

/**
 * Latencies in ms of `RUNS` calls of each function, after a warm-up. Calls alternate between the
 * two, so drift in the machine's load falls on both alike.
 */
async function pairedLatencies(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number[], number[]]> {
  for (let i = 0; i < Math.min(50, RUNS / 4); i++) {
    await a()
    await b()
  }
  const times: [number[], number[]] = [[], []]
  for (let i = 0; i < RUNS; i++) {
    for (const [k, call] of [a, b].entries()) {
      const start = performance.now()
      await call()
      times[k]?.push(performance.now() - start)
    }
  }
  return [times[0].sort((x, y) => x - y), times[1].sort((x, y) => x - y)]
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
        const [bareTimes, engineTimes] = await pairedLatencies(
          () => bare.run({ input: runtime.tensor(data, dims) }),
          () => engine.run({ input: { dtype: 'float32', shape: dims, data } }),
        )
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

/** Training on the digits split of the acceptance test: time per step and per epoch, and accuracy. */
async function trainingRows(): Promise<Row[]> {
  const rows: Row[] = []
  const digits = loadDigits()
  const order = permutation(digits.count, seededGenerator(1))
  const nTest = Math.round(digits.count * 0.2)
  const test = subset(digits, order.subarray(0, nTest))
  const training = subset(digits, order.subarray(nTest))
  const runs = [
    { optimizer: 'sgd', lr: 0.1, hidden: [32], epochs: quick ? 3 : 20 },
    { optimizer: 'adam', lr: 0.003, hidden: [64], epochs: quick ? 3 : 25 },
  ] as const
  const engines = [
    { label: 'onnxruntime-web', engine: undefined },
    ...((await loadOrtNode()) === undefined ? [] : [{ label: 'onnxruntime-node', engine: engineRunner(() => createOrtNodeEngine()) }]),
  ]
  for (const run of runs) {
    for (const { label, engine } of engines) {
      const group = `train digits MLP 64-${run.hidden.join('-')}-10 ${run.optimizer}, batch 32`
      const start = performance.now()
      const result = await train(
        buildDigitsMlp(1, run.hidden),
        { features: training.features, sampleShape: [64], labels: training.labels },
        { epochs: run.epochs, batchSize: 32, lr: run.lr, optimizer: run.optimizer, seed: 1, ...(engine === undefined ? {} : { engine }) },
      )
      const ms = performance.now() - start
      const acc = accuracy(await predict(result.model, test.features, [64]), test.labels)
      rows.push({ group, name: `${label} per step`, value: ms / result.steps, unit: 'ms' })
      rows.push({ group, name: `${label} per epoch`, value: ms / run.epochs, unit: 'ms' })
      rows.push({ group, name: `${label} accuracy after ${run.epochs} epochs`, value: acc * 100, unit: '%' })
    }
  }
  // The centralised reference: scikit-learn on the same split and settings, where installed.
  const python = '/usr/bin/python3'
  const dir = mkdtempSync(join(tmpdir(), 'cw-bench-ml-'))
  try {
    const spec = join(dir, 'split.json')
    const digitsFile = fileURLToPath(new URL('../data/digits.csv.gz', import.meta.url))
    writeFileSync(spec, JSON.stringify({ digits: digitsFile, test: [...order.subarray(0, nTest)], train: [...order.subarray(nTest)], runs, seeds: quick ? 1 : 5 }))
    const script = fileURLToPath(new URL('./ml-reference.py', import.meta.url))
    if (!existsSync(python)) throw new Error('no /usr/bin/python3')
    const out = JSON.parse(execFileSync(python, [script, spec], { encoding: 'utf8' })) as Record<string, { mean: number; min: number; max: number }>
    for (const run of runs) {
      const r = out[run.optimizer]
      if (r !== undefined)
        rows.push({ group: `train digits MLP 64-${run.hidden.join('-')}-10 ${run.optimizer}, batch 32`, name: `scikit-learn MLPClassifier accuracy (mean of seeds, ${(r.min * 100).toFixed(1)}..${(r.max * 100).toFixed(1)})`, value: r.mean * 100, unit: '%' })
    }
  } catch (err) {
    console.log(`scikit-learn reference skipped (apt-get install python3-sklearn): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}

const rows = withRatios([...(await inferenceRows()), ...(await trainingRows())])
const peakRssMiB = process.resourceUsage().maxRSS / 1024
rows.push({ group: 'process', name: 'peak resident memory', value: peakRssMiB, unit: 'MiB' })
printTable('ml: inference latency (engine vs bare session.run) and memory', rows)
console.log(`wrote ${writeResults('ml', rows, { runs: RUNS })}`)
