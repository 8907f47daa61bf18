// Reads the gateway's validation set from a CSV file (optionally gzip-compressed): one column of
// integer class labels, named by header or by 0-based index, and every other column a float32
// feature in file order. The file is hostile input: it is streamed under byte and row caps, and
// every cell must be a plain decimal (hardware/sensors' strict numeric CSV reader).
import { open } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'
import { parseNumber } from '../../hardware/sensors/parse-number.js'
import { readNumericCsv } from '../../hardware/sensors/read-numeric-csv.js'
import { BaseError } from '../../protocols/index.js'
import { ValidationSetError } from '../errors.js'
import { MAX_VALIDATION_CLASSES, MAX_VALIDATION_CSV_BYTES, MAX_VALIDATION_HEADER_BYTES, MAX_VALIDATION_ROWS } from './constants.js'
import { checkValidationSet, type ValidationSet } from './validation-evaluator.js'

export interface ReadValidationCsvParameters {
  readonly file: string
  /** The label column: its header name, or its 0-based index. */
  readonly label: string | number
  /**
   * Whether the first line is a header. Default `'auto'`: it is when one of its cells is not a
   * number (a header of numbers only needs `true`).
   */
  readonly header?: boolean | 'auto'
  /** Default `,`. */
  readonly delimiter?: string
  /** Default MAX_VALIDATION_CSV_BYTES (counted after gunzip). */
  readonly maxBytes?: number
  /** Default MAX_VALIDATION_ROWS. */
  readonly maxRows?: number
  readonly signal?: AbortSignal
}

export interface ReadValidationCsvReturnType extends ValidationSet {
  readonly labels: Int32Array
  /** Feature column names (their 0-based indexes in a file without a header), in the order of each sample's features. */
  readonly columns: string[]
}

const GZIP_MAGIC = [0x1f, 0x8b] as const

/** The lines of the (possibly gzipped) file, streamed, each without its line break. */
async function* lines(file: string, maxLineBytes: number, signal?: AbortSignal): AsyncGenerator<string> {
  const handle = await open(file, 'r')
  try {
    const head = Buffer.alloc(2)
    const { bytesRead } = await handle.read(head, 0, 2, 0)
    const raw = handle.createReadStream({ start: 0, autoClose: false, ...(signal === undefined ? {} : { signal }) })
    const input = bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1] ? raw.pipe(createGunzip()) : raw
    raw.on('error', (error) => input.destroy(error))
    let line = 0
    let rest = Buffer.alloc(0)
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        let text = rest.length === 0 ? chunk : Buffer.concat([rest, chunk])
        for (let nl = text.indexOf(0x0a); nl >= 0; nl = text.indexOf(0x0a)) {
          line++
          yield text.subarray(0, nl).toString('utf8').replace(/\r$/, '')
          text = text.subarray(nl + 1)
        }
        if (text.length > maxLineBytes) throw new ValidationSetError(file, `line ${line + 1} is longer than ${maxLineBytes} bytes`, { details: { line: line + 1 } })
        rest = Buffer.from(text)
      }
      if (rest.length > 0) yield rest.toString('utf8').replace(/\r$/, '')
    } finally {
      input.destroy()
      raw.destroy()
    }
  } finally {
    await handle.close()
  }
}

/** The first line of the file, read no further than MAX_VALIDATION_HEADER_BYTES. */
async function firstLine(file: string, signal?: AbortSignal): Promise<{ text: string; line: number }> {
  let line = 0
  for await (const text of lines(file, MAX_VALIDATION_HEADER_BYTES, signal)) {
    line++
    if (text.trim() !== '') return { text, line }
  }
  throw new ValidationSetError(file, 'is empty', { details: { line: 1 } })
}

/** The line number of data row `row` (1-based); only looked up to name a bad label. */
async function lineOfRow(file: string, row: number, header: boolean, maxLineBytes: number): Promise<number> {
  let line = 0
  let seen = header ? -1 : 0
  for await (const text of lines(file, maxLineBytes)) {
    line++
    if (text.trim() !== '' && ++seen === row) return line
  }
  return line
}

export async function readValidationCsv(parameters: ReadValidationCsvParameters): Promise<ReadValidationCsvReturnType> {
  const { file, label, delimiter = ',', maxBytes = MAX_VALIDATION_CSV_BYTES, maxRows = MAX_VALIDATION_ROWS, signal } = parameters
  const header = parameters.header ?? 'auto'
  if (typeof label === 'string' ? label === '' : !(Number.isSafeInteger(label) && label >= 0))
    throw new ValidationSetError(file, 'label must name a column or give its 0-based index', { details: { field: 'label' } })
  if (header !== true && header !== false && header !== 'auto') throw new ValidationSetError(file, "header must be true, false or 'auto'", { details: { field: 'header' } })
  if (typeof delimiter !== 'string' || delimiter.length !== 1) throw new ValidationSetError(file, 'delimiter must be one character', { details: { field: 'delimiter' } })
  for (const [field, value] of [['maxBytes', maxBytes], ['maxRows', maxRows]] as const)
    if (!Number.isSafeInteger(value) || value < 1) throw new ValidationSetError(file, `${field} must be a positive integer`, { details: { field } })
  try {
    const first = await firstLine(file, signal)
    const cells = first.text.split(delimiter).map((c) => c.trim())
    const isHeader = header === 'auto' ? cells.some((c) => parseNumber(c) === undefined) : header
    const at = { line: first.line }
    if (typeof label === 'string' && !isHeader) throw new ValidationSetError(file, `label ${JSON.stringify(label)} names a header column, but line ${first.line} is not a header (all its cells are numbers; set header to true if it is one)`, { details: { ...at, field: 'label' } })
    if (isHeader) {
      const seen = new Set<string>()
      for (const [i, name] of cells.entries()) {
        if (name === '') throw new ValidationSetError(file, `column ${i} of the header has no name`, { details: { ...at, column: i } })
        if (seen.has(name)) throw new ValidationSetError(file, `the header names column ${JSON.stringify(name)} twice`, { details: { ...at, column: i } })
        seen.add(name)
      }
    }
    const labelIndex = typeof label === 'number' ? label : cells.indexOf(label)
    if (labelIndex < 0) throw new ValidationSetError(file, `no column named ${JSON.stringify(label)} in the header (${cells.length} columns)`, { details: { ...at, field: 'label' } })
    if (labelIndex >= cells.length) throw new ValidationSetError(file, `label column ${labelIndex} does not exist (${cells.length} columns)`, { details: { ...at, field: 'label' } })
    const featureIndexes = cells.map((_, i) => i).filter((i) => i !== labelIndex)
    if (featureIndexes.length === 0) throw new ValidationSetError(file, 'there is no feature column besides the label', { details: at })
    const columns = featureIndexes.map((i) => (isHeader ? (cells[i] as string) : String(i)))
    const csv = await readNumericCsv({ file, columns: [labelIndex, ...featureIndexes], header: isHeader, delimiter, maxBytes, maxRows, ...(signal === undefined ? {} : { signal }) })
    const width = featureIndexes.length
    const labels = new Int32Array(csv.rows)
    const features = new Float32Array(csv.rows * width)
    for (let r = 0; r < csv.rows; r++) {
      const row = csv.data.subarray(r * csv.columns, (r + 1) * csv.columns)
      const value = row[0] as number
      if (!Number.isInteger(value) || value < 0 || value >= MAX_VALIDATION_CLASSES) {
        const line = await lineOfRow(file, r + 1, isHeader, maxBytes)
        const name = isHeader ? JSON.stringify(cells[labelIndex]) : String(labelIndex)
        throw new ValidationSetError(file, `line ${line}, column ${name}: label ${value} is not an integer class index in 0..${MAX_VALIDATION_CLASSES - 1}`, {
          details: { line, field: 'label', column: labelIndex },
        })
      }
      labels[r] = value
      features.set(row.subarray(1), r * width)
    }
    const set = checkValidationSet({ features, labels, width }, file)
    return { ...set, labels: set.labels as Int32Array, columns }
  } catch (err) {
    if (err instanceof ValidationSetError || (signal?.aborted === true && err === signal.reason)) throw err
    // The numeric reader's ReplayFormatError names the line; fs errors name the cause (ENOENT, EACCES…).
    const details: Record<string, unknown> = err instanceof BaseError ? { ...err.details } : { cause: (err as NodeJS.ErrnoException).code }
    const line = typeof details.line === 'number' ? details.line : undefined
    const problem = err instanceof BaseError ? err.message.replace(/^replay file ".*?" line \d+: /, '') : `cannot be read: ${err instanceof Error ? err.message : String(err)}`
    throw new ValidationSetError(file, line === undefined ? problem : `line ${line}: ${problem}`, { cause: err, details })
  }
}
