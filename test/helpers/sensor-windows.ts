// Labelled windows of the `synthetic` sensor (hardware/sensors), for the CNN and autoencoder
// acceptance tests: readings from a seeded config with injected anomalies, cut into windows by
// hardware/sensors' Windower (channels first, z-scored with the stream's own normal statistics).
// A window is anomalous (label 1) when at least MIN_ANOMALOUS of its readings are, normal (0)
// when none is; windows that only graze an anomaly are left out as ambiguous.
import { generateSynthetic, type SyntheticConfig } from '../../hardware/sensors/synthetic-sensor.js'
import { NORMAL_LABEL } from '../../hardware/sensors/constants.js'
import { Windower } from '../../hardware/sensors/windowing.js'

export const WINDOW = 64
export const HOP = 32
export const CHANNELS = 2
const MIN_ANOMALOUS = 8

export function sensorConfig(seed: number): SyntheticConfig {
  return {
    driver: 'synthetic',
    id: `synthetic-${seed}`,
    rate: 100,
    seed,
    channels: [
      { name: 'vibration', offset: 20, noise: 0.2, sinusoids: [{ frequency: 1, amplitude: 2 }, { frequency: 7, amplitude: 0.5 }] },
      { name: 'current', offset: 0, noise: 0.1, sinusoids: [{ frequency: 2.5, amplitude: 1, phase: 0.3 }] },
    ],
    anomalies: { probability: 0.004, kinds: ['spike', 'shift', 'stuck', 'noise'], minLength: 10, maxLength: 40, magnitude: 2.5 },
  }
}

export interface WindowSet {
  features: Float32Array
  labels: Int32Array
  count: number
  /** [channels, length] */
  shape: [number, number]
  ambiguous: number
}

/** Windows of `readings` readings of the synthetic sensor with `seed`. */
export function syntheticWindows(seed: number, readings: number): WindowSet {
  const { values, labels } = generateSynthetic(sensorConfig(seed), readings)
  // z-score statistics of the normal readings, per channel.
  const mean = new Array<number>(CHANNELS).fill(0)
  const sq = new Array<number>(CHANNELS).fill(0)
  let n = 0
  values.forEach((v, i) => {
    if (labels[i] !== NORMAL_LABEL) return
    n++
    for (let c = 0; c < CHANNELS; c++) {
      mean[c] = (mean[c] as number) + (v[c] as number)
      sq[c] = (sq[c] as number) + (v[c] as number) ** 2
    }
  })
  const m = mean.map((s) => s / n)
  const std = sq.map((s, c) => Math.sqrt(s / n - (m[c] as number) ** 2))
  const windower = new Windower({ channels: CHANNELS, length: WINDOW, hop: HOP, layout: 'channels-first', normalise: { kind: 'z-score', stats: { mean: m, std } } })
  const feats: Float32Array[] = []
  const out: number[] = []
  let ambiguous = 0
  values.forEach((v, i) => {
    const w = windower.push({ t: i * 10, values: v, label: labels[i] })
    if (w === undefined) return
    let anomalous = 0
    for (let k = i - WINDOW + 1; k <= i; k++) if (labels[k] !== NORMAL_LABEL) anomalous++
    if (anomalous > 0 && anomalous < MIN_ANOMALOUS) {
      ambiguous++
      return
    }
    feats.push(Float32Array.from(w.data))
    out.push(anomalous === 0 ? 0 : 1)
  })
  const features = new Float32Array(feats.length * CHANNELS * WINDOW)
  feats.forEach((f, i) => features.set(f, i * CHANNELS * WINDOW))
  return { features, labels: Int32Array.from(out), count: out.length, shape: [CHANNELS, WINDOW], ambiguous }
}

/** Rows of a window set with the given label. */
export function windowsWithLabel(set: WindowSet, label: number): Float32Array {
  const size = set.shape[0] * set.shape[1]
  const rows: number[] = []
  set.labels.forEach((l, i) => {
    if (l === label) rows.push(i)
  })
  const out = new Float32Array(rows.length * size)
  rows.forEach((r, i) => out.set(set.features.subarray(r * size, (r + 1) * size), i * size))
  return out
}

/** Area under the ROC curve of `scores` for positives (label 1) against negatives (Mann–Whitney U, ties counted half). */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let pos = 0
  let neg = 0
  let wins = 0
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue
    pos++
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue
      const a = scores[i] as number
      const b = scores[j] as number
      wins += a > b ? 1 : a === b ? 0.5 : 0
    }
  }
  for (let j = 0; j < labels.length; j++) if (labels[j] === 0) neg++
  return wins / (pos * neg)
}
