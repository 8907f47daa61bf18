// Reads the gateway's validation set from a CSV file (gzip-compressed or not): a label column,
// named in a header line or by index, and every other column a feature, in file order. The file
// is hostile input: its size is capped before it is read, and every cell must be a plain decimal.
import { readFile, stat } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { parseNumber } from '../../hardware/sensors/parse-number.js'
import { ValidationSetError } from '../errors.js'
import { checkValidationSet, type ValidationSet } from '../rounds/validation-evaluator.js'
import { VALIDATION_MAX_BYTES, VALIDATION_MAX_ROWS } from './constants.js'

export interface ReadValidationCsvParameters {
  file: string
  /** By header name (the file must then start with a header line) or 0-based index. */
  labelColumn: string | number
  maxBytes?: number
  maxRows?: number
}

export async function readValidationCsv(parameters: ReadValidationCsvParameters): Promise<ValidationSet> {
  const { file, labelColumn, maxBytes = VALIDATION_MAX_BYTES, maxRows = VALIDATION_MAX_ROWS } = parameters
  const fail = (problem: string, details: Record<string, unknown> = {}, cause?: unknown): never => {
    throw new ValidationSetError(file, problem, { details, ...(cause === undefined ? {} : { cause }) })
  }
  let raw: Buffer
  try {
    const info = await stat(file)
    if (!info.isFile()) fail('is not a regular file')
    if (info.size > maxBytes) fail(`is larger than ${maxBytes} bytes`)
    raw = await readFile(file)
  } catch (err) {
    if (err instanceof ValidationSetError) throw err
    return fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {}, err)
  }
  let text: string
  try {
    text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw, { maxOutputLength: maxBytes }) : raw).toString('utf8')
  } catch (err) {
    return fail(`does not decompress within ${maxBytes} bytes`, {}, err)
  }
  const lines = text.split('\n')
  let lineNo = 0
  let header: string[] | undefined
  let label = -1
  let width = -1
  const features: number[] = []
  const labels: number[] = []
  for (const rawLine of lines) {
    lineNo++
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine
    if (line.trim() === '') continue
    const cells = line.split(',').map((c) => c.trim())
    if (label < 0) {
      const numeric = cells.every((c) => parseNumber(c) !== undefined)
      if (typeof labelColumn === 'string') {
        if (numeric) fail(`labelColumn ${JSON.stringify(labelColumn)} names a header column, but line ${lineNo} is not a header`, { line: lineNo })
        header = cells
        if (new Set(cells).size !== cells.length) fail('repeats a column name in its header', { line: lineNo })
        label = cells.indexOf(labelColumn)
        if (label < 0) fail(`has no column ${JSON.stringify(labelColumn)} (columns: ${cells.join(', ')})`, { line: lineNo, field: 'labelColumn' })
        width = cells.length
        continue
      }
      if (labelColumn >= cells.length) fail(`has ${cells.length} columns, labelColumn is ${labelColumn}`, { line: lineNo, field: 'labelColumn' })
      label = labelColumn
      width = cells.length
      if (!numeric) {
        header = cells
        continue
      }
    }
    if (cells.length !== width) fail(`line ${lineNo} has ${cells.length} cells, the ${header === undefined ? 'first row' : 'header'} has ${width}`, { line: lineNo })
    if (labels.length >= maxRows) fail(`has more than ${maxRows} rows`, { line: lineNo })
    cells.forEach((cell, column) => {
      const value = parseNumber(cell)
      if (value === undefined) fail(`line ${lineNo}, column ${header?.[column] ?? column}: ${JSON.stringify(cell.slice(0, 32))} is not a number`, { line: lineNo })
      if (column === label) labels.push(value as number)
      else features.push(value as number)
    })
  }
  if (labels.length === 0) fail('has no rows')
  return checkValidationSet({ features: Float32Array.from(features), labels, width: width - 1 }, file)
}
