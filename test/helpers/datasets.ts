// Loaders of the small real data sets in data/ (see data/README.md for their sources), as
// row-major Float32Array features plus integer labels, ready for edge-agent/training.
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'

const dataDir = fileURLToPath(new URL('../../data/', import.meta.url))

export interface LabelledSet {
  features: Float32Array
  labels: Int32Array
  /** Features per sample. */
  width: number
  count: number
  classes: number
}

function parseRows(text: string, skip: number): number[][] {
  return text
    .split('\n')
    .slice(skip)
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(',').map(Number))
}

function fromRows(rows: number[][], classes: number, scale: (column: number, v: number) => number): LabelledSet {
  const width = (rows[0]?.length ?? 1) - 1
  const features = new Float32Array(rows.length * width)
  const labels = new Int32Array(rows.length)
  rows.forEach((row, i) => {
    if (row.length !== width + 1 || row.some((v) => !Number.isFinite(v))) throw new Error(`bad data row ${i}`)
    for (let k = 0; k < width; k++) features[i * width + k] = scale(k, row[k] as number)
    labels[i] = row[width] as number
  })
  return { features, labels, width, count: rows.length, classes }
}

/** The 1797 digits, pixel values scaled from 0..16 to 0..1. */
export function loadDigits(): LabelledSet {
  const rows = parseRows(gunzipSync(readFileSync(`${dataDir}digits.csv.gz`)).toString('utf8'), 0)
  return fromRows(rows, 10, (_k, v) => v / 16)
}

/** The 178 wines, each feature standardised (z-score over the whole set). */
export function loadWine(): LabelledSet {
  const rows = parseRows(readFileSync(`${dataDir}wine_data.csv`, 'utf8'), 1)
  const width = (rows[0]?.length ?? 1) - 1
  const mean = new Array<number>(width).fill(0)
  const sd = new Array<number>(width).fill(0)
  for (const r of rows) for (let k = 0; k < width; k++) mean[k] = (mean[k] as number) + (r[k] as number) / rows.length
  for (const r of rows) for (let k = 0; k < width; k++) sd[k] = (sd[k] as number) + ((r[k] as number) - (mean[k] as number)) ** 2 / rows.length
  return fromRows(rows, 3, (k, v) => (v - (mean[k] as number)) / Math.sqrt(sd[k] as number))
}

/** Samples `indices` of a set, in that order. */
export function subset(set: LabelledSet, indices: ArrayLike<number>): LabelledSet {
  const features = new Float32Array(indices.length * set.width)
  const labels = new Int32Array(indices.length)
  for (let i = 0; i < indices.length; i++) {
    const s = indices[i] as number
    features.set(set.features.subarray(s * set.width, (s + 1) * set.width), i * set.width)
    labels[i] = set.labels[s] as number
  }
  return { features, labels, width: set.width, count: indices.length, classes: set.classes }
}
