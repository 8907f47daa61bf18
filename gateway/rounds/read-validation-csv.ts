// Reads the gateway's validation set from a CSV file (optionally gzip-compressed): a header line,
// one column of integer class labels named by the caller, every other column a float32 feature
// in file order. The cells are read by hardware/sensors' strict numeric CSV reader.
import { open } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'
import { readNumericCsv } from '../../hardware/sensors/read-numeric-csv.js'
import { BaseError } from '../../protocols/index.js'
import { ValidationSetError } from '../errors.js'
import { MAX_VALIDATION_CLASSES, MAX_VALIDATION_CSV_BYTES, MAX_VALIDATION_HEADER_BYTES, MAX_VALIDATION_ROWS } from './constants.js'
import { checkValidationSet, type ValidationSet } from './validation-evaluator.js'

export interface ReadValidationCsvParameters {
  readonly file: string
  /** The header name of the label column. */
  readonly label: string
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
  /** Feature column names, in the order of each sample's features. */
  readonly columns: string[]
}

const GZIP_MAGIC = [0x1f, 0x8b] as const

/** The first line of the (possibly gzipped) file, read no further than MAX_VALIDATION_HEADER_BYTES. */
async function headerLine(file: string): Promise<string> {
  const handle = await open(file, 'r')
  try {
    const head = Buffer.alloc(2)
    const { bytesRead } = await handle.read(head, 0, 2, 0)
    const raw = handle.createReadStream({ start: 0, autoClose: false })
    const input = bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1] ? raw.pipe(createGunzip()) : raw
    raw.on('error', (error) => input.destroy(error))
    const chunks: Buffer[] = []
    let length = 0
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        const nl = chunk.indexOf(0x0a)
        chunks.push(nl < 0 ? chunk : chunk.subarray(0, nl))
        length += chunk.length
        if (nl >= 0) break
        if (length > MAX_VALIDATION_HEADER_BYTES) throw new ValidationSetError(file, `the header line is longer than ${MAX_VALIDATION_HEADER_BYTES} bytes`, { details: { line: 1 } })
      }
    } finally {
      input.destroy()
      raw.destroy()
    }
    return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '')
  } finally {
    await handle.close()
  }
}

export async function readValidationCsv(parameters: ReadValidationCsvParameters): Promise<ReadValidationCsvReturnType> {
  const { file, label, delimiter = ',', maxBytes = MAX_VALIDATION_CSV_BYTES, maxRows = MAX_VALIDATION_ROWS, signal } = parameters
  if (typeof label !== 'string' || label === '') throw new ValidationSetError(file, 'label must name a column', { details: { field: 'label' } })
  if (typeof delimiter !== 'string' || delimiter.length !== 1) throw new ValidationSetError(file, 'delimiter must be one character', { details: { field: 'delimiter' } })
  for (const [field, value] of [['maxBytes', maxBytes], ['maxRows', maxRows]] as const)
    if (!Number.isSafeInteger(value) || value < 1) throw new ValidationSetError(file, `${field} must be a positive integer`, { details: { field } })
  try {
    const names = (await headerLine(file)).split(delimiter).map((c) => c.trim())
    const seen = new Set<string>()
    for (const [i, name] of names.entries()) {
      if (name === '') throw new ValidationSetError(file, `column ${i} of the header has no name`, { details: { line: 1, column: i } })
      if (seen.has(name)) throw new ValidationSetError(file, `the header names column ${JSON.stringify(name)} twice`, { details: { line: 1, column: i } })
      seen.add(name)
    }
    if (!seen.has(label)) throw new ValidationSetError(file, `no column named ${JSON.stringify(label)} in the header (${names.length} columns)`, { details: { line: 1, field: 'label' } })
    const columns = names.filter((n) => n !== label)
    if (columns.length === 0) throw new ValidationSetError(file, 'the header names no feature column besides the label', { details: { line: 1 } })
    const csv = await readNumericCsv({ file, columns: [label, ...columns], header: true, delimiter, maxBytes, maxRows, ...(signal === undefined ? {} : { signal }) })
    const width = columns.length
    const labels = new Int32Array(csv.rows)
    const features = new Float32Array(csv.rows * width)
    for (let r = 0; r < csv.rows; r++) {
      const row = csv.data.subarray(r * csv.columns, (r + 1) * csv.columns)
      const value = row[0] as number
      if (!Number.isInteger(value) || value < 0 || value >= MAX_VALIDATION_CLASSES)
        throw new ValidationSetError(file, `data row ${r + 1}: label ${value} is not an integer class index in 0..${MAX_VALIDATION_CLASSES - 1}`, { details: { row: r + 1, field: label } })
      labels[r] = value
      features.set(row.subarray(1), r * width)
    }
    const set = checkValidationSet({ features, labels, width }, file)
    return { ...set, labels: set.labels as Int32Array, columns }
  } catch (err) {
    if (err instanceof ValidationSetError || (signal?.aborted === true && err === signal.reason)) throw err
    // The reader's ReplayFormatError names the line; fs errors name the cause (ENOENT, EACCES…).
    const details = err instanceof BaseError ? { ...err.details } : { cause: (err as NodeJS.ErrnoException).code }
    throw new ValidationSetError(file, err instanceof Error ? err.message : String(err), { cause: err, details })
  }
}
