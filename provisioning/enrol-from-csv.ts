// Bulk enrolment from a CSV file of requests. The header names the columns (CSV_COLUMNS):
//   request  a request file's path (relative to the CSV's directory), or `base64:` and the request;
//   bundle   where to write the device's bundle (default: `<bundleDir>/<device address>.json`);
//   sensors  a JSON file holding the device's sensors array (optional).
// A row that cannot be used is reported with its line number (CsvRowError, or the typed error of
// its request) and the other rows are enrolled. Running the same file again resumes the run.
import { open, readFile, stat } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { BaseError, MAX_ENROLMENT_REQUEST_BYTES } from '../protocols/index.js'
import { CSV_COLUMNS, CSV_INLINE_PREFIX, MAX_CSV_BYTES, MAX_CSV_FIELD_BYTES, MAX_CSV_ROWS, MAX_SENSORS_FILE_BYTES } from './constants.js'
import { parseCsv } from './csv.js'
import { decodeRequest } from './check-request.js'
import { enrolDevices, type DeviceEnrolment, type EnrolDevicesParameters, type EnrolDevicesReturnType, type SensorSettings } from './enrol-devices.js'
import { CsvFormatError, CsvRowError } from './errors.js'

export interface EnrolFromCsvParameters extends Omit<EnrolDevicesParameters, 'devices' | 'skipInvalid'> {
  /** The CSV file. */
  csv: string
  /** Where bundles go for rows without a `bundle` cell; `bundles/` beside the CSV when absent. */
  bundleDir?: string
  /** Settings for every device's agent, placed in each bundle. */
  agent?: Record<string, unknown>
}

export interface CsvRejection {
  /** 1-based line of the row in the CSV. */
  line: number
  source: string
  error: BaseError
}

export interface EnrolFromCsvReturnType extends Omit<EnrolDevicesReturnType, 'rejected'> {
  rejected: CsvRejection[]
  /** Data rows read (blank lines are not rows). */
  rows: number
}

type Column = (typeof CSV_COLUMNS)[number]

async function readCapped(path: string, max: number): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' })
    if (info.size > max) throw Object.assign(new Error(`larger than ${max} bytes`), { code: 'EFBIG' })
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}

export async function enrolFromCsv(parameters: EnrolFromCsvParameters): Promise<EnrolFromCsvReturnType> {
  const file = resolve(parameters.csv)
  const base = dirname(file)
  const info = await stat(file).catch((cause: unknown) => {
    throw new CsvFormatError(file, 'cannot be read', { cause })
  })
  if (!info.isFile()) throw new CsvFormatError(file, 'is not a regular file')
  if (info.size > MAX_CSV_BYTES) throw new CsvFormatError(file, `is larger than ${MAX_CSV_BYTES} bytes`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file))
  } catch (cause) {
    throw new CsvFormatError(file, 'is not UTF-8', { cause })
  }
  const records = parseCsv(text, { maxFieldLength: MAX_CSV_FIELD_BYTES, maxRecords: MAX_CSV_ROWS + 1 })
  const header = records[0]
  if (header === undefined) throw new CsvFormatError(file, 'is empty: expected a header line naming the columns')
  if (header.problem !== undefined) throw new CsvFormatError(file, `line ${header.line}: the header is malformed: ${header.problem}`)
  if (records.length - 1 > MAX_CSV_ROWS) throw new CsvFormatError(file, `has more than ${MAX_CSV_ROWS} rows`)
  const columns = header.fields.map((f) => f.trim())
  const index = new Map<Column, number>()
  for (const [i, name] of columns.entries()) {
    if (!(CSV_COLUMNS as readonly string[]).includes(name)) throw new CsvFormatError(file, `unknown column ${JSON.stringify(name)}; the columns are ${CSV_COLUMNS.join(', ')}`)
    if (index.has(name as Column)) throw new CsvFormatError(file, `column ${name} appears twice`)
    index.set(name as Column, i)
  }
  if (!index.has('request')) throw new CsvFormatError(file, 'has no request column')
  const bundleDir = resolve(parameters.bundleDir ?? join(base, 'bundles'))
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(base, p))

  const rejected: CsvRejection[] = []
  const devices: DeviceEnrolment[] = []
  const lines: number[] = []
  const rows = records.slice(1)
  for (const row of rows) {
    const source = `${file}:${row.line}`
    try {
      if (row.problem !== undefined) throw new CsvRowError(file, row.line, 'row', row.problem)
      if (row.fields.length !== columns.length) throw new CsvRowError(file, row.line, 'row', `has ${row.fields.length} fields, the header ${columns.length}`)
      const cell = (c: Column): string => {
        const i = index.get(c)
        return i === undefined ? '' : (row.fields[i] ?? '').trim()
      }
      const requestCell = cell('request')
      if (requestCell === '') throw new CsvRowError(file, row.line, 'request', 'is empty')
      let requestBytes: Uint8Array
      if (requestCell.startsWith(CSV_INLINE_PREFIX)) {
        const b64 = requestCell.slice(CSV_INLINE_PREFIX.length)
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new CsvRowError(file, row.line, 'request', 'is not valid base64')
        requestBytes = Buffer.from(b64, 'base64')
      } else {
        try {
          requestBytes = await readCapped(at(requestCell), MAX_ENROLMENT_REQUEST_BYTES + 2)
        } catch (cause) {
          throw new CsvRowError(file, row.line, 'request', `${requestCell}: ${(cause as Error).message}`, { cause })
        }
      }
      // Decoded here so that the default bundle path can name the device.
      const request = decodeRequest(requestBytes, source)
      const bundleCell = cell('bundle')
      const bundle = bundleCell === '' ? join(bundleDir, `${request.device}.json`) : at(bundleCell)
      let sensors: SensorSettings[] | undefined
      const sensorsCell = cell('sensors')
      if (sensorsCell !== '') {
        let json: unknown
        try {
          json = JSON.parse((await readCapped(at(sensorsCell), MAX_SENSORS_FILE_BYTES)).toString('utf8'))
        } catch (cause) {
          throw new CsvRowError(file, row.line, 'sensors', `${sensorsCell}: ${(cause as Error).message}`, { cause })
        }
        if (!Array.isArray(json)) throw new CsvRowError(file, row.line, 'sensors', `${sensorsCell} does not hold a JSON array`)
        sensors = json as SensorSettings[] // each entry is checked against the bundle's schema by enrolDevices
      }
      devices.push({ request, source, bundle, ...(sensors === undefined ? {} : { sensors }), ...(parameters.agent === undefined ? {} : { agent: parameters.agent }) })
      lines.push(row.line)
    } catch (err) {
      if (!(err instanceof BaseError)) throw err
      rejected.push({ line: row.line, source, error: err })
    }
  }

  const { csv: _csv, bundleDir: _bundleDir, agent: _agent, ...rest } = parameters
  const result = await enrolDevices({ ...rest, devices, skipInvalid: true })
  for (const r of result.rejected) rejected.push({ line: lines[r.index] ?? 0, source: r.source, error: r.error })
  rejected.sort((a, b) => a.line - b.line)
  return { ...result, rejected, rows: rows.length }
}
