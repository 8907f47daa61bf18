// Device-level DP happens before signing: trainLocalRound's encoded update (whose hash the agent
// signs) is the clean delta clipped to C plus Gaussian noise of standard deviation σ·C, tested
// statistically against the same round trained without DP (training is deterministic for a seed).
import t from 'tap'
import { buildDigitsMlp, contentId, decodeUpdate, encodeModel } from '../../../protocols/index.js'
import { trainLocalRound } from '../../../edge-agent/daemon/local-training.js'
import type { StoredSample } from '../../../edge-agent/dataset/index.js'
import { loadDigits } from '../../helpers/datasets.js'

const digits = loadDigits()
const samples: StoredSample[] = Array.from({ length: 120 }, (_, i) => ({
  features: digits.features.slice(i * digits.width, (i + 1) * digits.width),
  label: String(digits.labels[i]),
  time: 1_700_000_000_000 + i,
  seq: i,
}))
const classes = Array.from({ length: 10 }, (_, i) => String(i))
const common = { baseModel: encodeModel(buildDigitsMlp(3, [16])), samples, classes, epochs: 1, batchSize: 16, lr: 0.1, optimizer: 'sgd' as const, seed: 11, encoding: 'float32' as const }
const CLIP = 0.05
const SIGMA = 1.3

/** Φ, the standard normal CDF (A&S 7.1.26 through erf; |error| < 1.5e-7). */
const phi = (x: number): number => {
  const z = Math.abs(x) / Math.SQRT2
  const k = 1 / (1 + 0.3275911 * z)
  const erf = 1 - ((((1.061405429 * k - 1.453152027) * k + 1.421413741) * k - 0.284496736) * k + 0.254829592) * k * Math.exp(-z * z)
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2
}

t.test('the signed update is the clipped delta plus N(0, (σC)²) noise', async (t) => {
  const clean = await trainLocalRound(common)
  const noised = await trainLocalRound({ ...common, privacy: { clipNorm: CLIP, noiseMultiplier: SIGMA } })
  t.equal(noised.updateHash, contentId(noised.update), 'the hash the agent signs is of the noised bytes')
  t.not(noised.updateHash, clean.updateHash)
  t.equal(noised.metrics.noiseStd, SIGMA * CLIP)
  t.equal(noised.metrics.norm, clean.metrics.norm, 'the same training ran')
  t.ok(clean.metrics.norm > CLIP, `the clean delta (norm ${clean.metrics.norm.toFixed(4)}) is clipped to ${CLIP}`)
  t.equal(noised.metrics.clipped, true)

  const a = decodeUpdate(clean.update).tensors
  const b = decodeUpdate(noised.update).tensors
  const scale = CLIP / clean.metrics.norm
  const z: number[] = []
  a.forEach((x, i) => x.data.forEach((v, j) => z.push(((b[i]?.data[j] as number) - v * scale) / (SIGMA * CLIP))))
  const n = z.length
  const mean = z.reduce((s, v) => s + v, 0) / n
  const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)
  t.ok(n > 1000, `${n} coordinates`)
  t.ok(Math.abs(mean) < 4 / Math.sqrt(n), `standardised noise mean ${mean.toFixed(4)} ≈ 0`)
  t.ok(Math.abs(variance - 1) < 4 * Math.sqrt(2 / n), `standardised noise variance ${variance.toFixed(4)} ≈ 1`)
  // Kolmogorov–Smirnov against N(0, 1): the critical value at the 0.1% level is 1.95/√n.
  const sorted = [...z].sort((x, y) => x - y)
  let d = 0
  sorted.forEach((v, i) => (d = Math.max(d, Math.abs(phi(v) - i / n), Math.abs(phi(v) - (i + 1) / n))))
  t.ok(d < 1.95 / Math.sqrt(n), `KS distance ${d.toFixed(4)} < ${(1.95 / Math.sqrt(n)).toFixed(4)}`)
  // Without noise the same comparison is degenerate: the check above can fail.
  const same = a.flatMap((x, i) => Array.from(x.data, (v, j) => (b[i]?.data[j] as number) - v * scale))
  t.ok(Math.sqrt(same.reduce((s, v) => s + v * v, 0) / n) > 0.5 * SIGMA * CLIP, 'the difference is noise-sized, not rounding')
})
