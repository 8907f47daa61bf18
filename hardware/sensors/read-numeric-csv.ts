// Reads a numeric CSV (optionally gzip-compressed) into one row-major Float32Array. Sensor
// recordings are plain numbers without quoting, so a line split is exact here and far lighter
// than a general CSV parser; anything else in a cell is refused with the line number.

import { open } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'
import { ReplayFormatError } from '../errors.js'
import { parseNumber } from './parse-number.js'

export interface ReadNumericCsvParameters {
  readonly file: string
  /** Columns to keep, by header name or 0-based index, in output order. */
  readonly columns: readonly (string | number)[]
  /** Whether the first line is a header; `'auto'`: it is when one of its cells is not a number. */
  readonly header: boolean | 'auto'
  readonly delimiter: string
  readonly maxBytes: number
  readonly maxRows: number
  readonly signal?: AbortSignal
}

export interface ReadNumericCsvReturnType {
  /** Row-major: row `i`, column `c` is `data[i * columns + c]`. */
  readonly data: Float32Array
  readonly rows: number
  readonly columns: number
}

const GZIP_MAGIC = [0x1f, 0x8b] as const

export async function readNumericCsv(params: ReadNumericCsvParameters): Promise<ReadNumericCsvReturnType> {
  const { file, delimiter, maxBytes, maxRows, signal } = params
  // A missing or unreadable file rejects with the fs error; the driver's open() wraps it.
  const handle = await open(file, 'r')
  try {
    const head = Buffer.alloc(2)
    const { bytesRead } = await handle.read(head, 0, 2, 0)
    const gzipped = bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]
    const raw = handle.createReadStream({ start: 0, autoClose: false, ...(signal === undefined ? {} : { signal }) })
    const input = gzipped ? raw.pipe(createGunzip()) : raw
    raw.on('error', (error) => input.destroy(error))

    let indexes: number[] | undefined
    let width = 0
    let data = new Float32Array(1024)
    let rows = 0
    let bytes = 0
    let lineNo = 0
    const fail = (line: number, problem: string, details: Record<string, unknown> = {}): never => {
      throw new ReplayFormatError(file, line, problem, { details })
    }

    const onLine = (text: string): void => {
      lineNo++
      const line = text.endsWith('\r') ? text.slice(0, -1) : text
      if (line.trim() === '') return
      const cells = line.split(delimiter).map((c) => c.trim())
      if (indexes === undefined) {
        const isHeader = params.header === 'auto' ? cells.some((c) => parseNumber(c) === undefined) : params.header
        indexes = params.columns.map((column, i) => {
          if (typeof column === 'number') {
            if (column >= cells.length) fail(lineNo, `column ${column} does not exist (${cells.length} columns)`, { field: `channels.${i}.column` })
            return column
          }
          const at = isHeader ? cells.indexOf(column) : -1
          if (at < 0) fail(lineNo, `no column named ${JSON.stringify(column)} in the header`, { field: `channels.${i}.column` })
          return at
        })
        width = indexes.length
        if (isHeader) return
      }
      if (rows >= maxRows) fail(lineNo, `more than ${maxRows} rows`, { maxRows })
      if ((rows + 1) * width > data.length) {
        const grown = new Float32Array(Math.min(data.length * 2, maxRows * width))
        grown.set(data)
        data = grown
      }
      for (let c = 0; c < width; c++) {
        const at = indexes[c] as number
        const cell = cells[at]
        if (cell === undefined) fail(lineNo, `missing column ${at}`, { column: at })
        const value = parseNumber(cell as string)
        if (value === undefined) fail(lineNo, `column ${at} is not a finite number: ${JSON.stringify((cell as string).slice(0, 32))}`, { column: at })
        data[rows * width + c] = value as number
      }
      rows++
    }

    // Chunk by chunk, not line by line: one await per 64 KiB instead of one per row.
    let rest = ''
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        bytes += chunk.length
        if (bytes > maxBytes) fail(lineNo + 1, `more than ${maxBytes} bytes`, { maxBytes })
        const text = rest + chunk.toString('utf8')
        let start = 0
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
          onLine(text.slice(start, nl))
          start = nl + 1
        }
        rest = text.slice(start)
      }
      if (rest !== '') onLine(rest)
    } catch (error) {
      input.destroy()
      raw.destroy()
      if (error instanceof ReplayFormatError) throw error
      if (signal?.aborted === true) throw signal.reason
      throw new ReplayFormatError(file, lineNo, `cannot read: ${(error as Error).message}`, { cause: error })
    }
    if (rows === 0) throw new ReplayFormatError(file, lineNo, 'no data rows')
    return { data: data.slice(0, rows * width), rows, columns: width }
  } finally {
    await handle.close()
  }
}
