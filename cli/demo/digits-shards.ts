// The demo fleet's data: the digits set (data/digits.csv.gz, see data/README.md) split into a
// validation set the gateway holds and one non-IID shard per device, drawn per class from a
// Dirichlet(α) distribution with a fixed seed (the usual way federated-learning papers make
// skewed devices). Shards are written as CSV files the `replay` sensor plays back: columns
// p0..p63 hold raw pixel values 0..16 (the sensor's `gain` scales them to 0..1) and `label`.
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { dirichletSplit, prng } from './dirichlet-split.js'
import { packageFile } from '../package-root.js'

export const DIGITS_WIDTH = 64
export const DIGITS_CLASSES = 10
/** Pixel values run 0..16; features are value / 16. */
export const DIGITS_PIXEL_MAX = 16

const digitsFile = packageFile('data/digits.csv.gz')

export interface DigitsRows {
  /** Raw rows: 64 pixel values then the label. */
  rows: number[][]
}

export function loadDigitsRows(): number[][] {
  const text = gunzipSync(readFileSync(digitsFile)).toString('utf8')
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const row = line.split(',').map(Number)
      if (row.length !== DIGITS_WIDTH + 1 || row.some((v) => !Number.isFinite(v))) throw new Error(`digits.csv.gz line ${i + 1} is malformed`)
      return row
    })
}

export interface DigitsSplit {
  validation: number[][]
  shards: number[][][]
}

/**
 * Shuffles with `seed`, keeps `validationFraction` for the gateway, and splits the rest over
 * `devices`. Every device gets at least `minPerDevice` samples (topped up round-robin from the
 * largest shards), so that none sits out every round.
 */
export function splitDigits(devices: number, options: { alpha?: number; seed?: number; validationFraction?: number; minPerDevice?: number } = {}): DigitsSplit {
  const { alpha = 0.5, seed = 7, validationFraction = 0.2, minPerDevice = 40 } = options
  const rows = loadDigitsRows()
  const rand = prng(seed)
  const order = rows.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[order[i], order[j]] = [order[j] as number, order[i] as number]
  }
  const nValidation = Math.round(rows.length * validationFraction)
  const validation = order.slice(0, nValidation).map((i) => rows[i] as number[])
  const training = order.slice(nValidation).map((i) => rows[i] as number[])
  const shards = dirichletSplit(training.map((r) => r[DIGITS_WIDTH] as number), DIGITS_CLASSES, devices, alpha, seed)
  for (const shard of shards) {
    while (shard.length < minPerDevice) {
      const donor = shards.reduce((a, b) => (b.length > a.length ? b : a))
      if (donor.length <= minPerDevice) break
      shard.push(donor.pop() as number)
    }
  }
  return { validation, shards: shards.map((s) => s.map((i) => training[i] as number[])) }
}

const header = [...Array.from({ length: DIGITS_WIDTH }, (_, k) => `p${k}`), 'label'].join(',')

/** Writes rows as CSV; `scale` divides the pixel columns (1 keeps raw values). */
export async function writeDigitsCsv(file: string, rows: readonly number[][], scale = 1): Promise<void> {
  const lines = rows.map((r) => r.map((v, k) => (k < DIGITS_WIDTH ? v / scale : v)).join(','))
  await writeFile(file, `${header}\n${lines.join('\n')}\n`)
}

/** The replay sensor that plays one shard: 64 pixel channels scaled to 0..1, and the label. */
export function digitsReplaySensor(file: string, rate: number): { driver: string; id: string } & Record<string, unknown> {
  return {
    driver: 'replay',
    id: 'digits',
    file,
    rate,
    speed: 1,
    loop: false,
    header: true,
    channels: [
      ...Array.from({ length: DIGITS_WIDTH }, (_, k) => ({ column: `p${k}`, gain: DIGITS_PIXEL_MAX })),
      { column: 'label' },
    ],
  }
}
