// A strict CSV reader after RFC 4180: fields separated by commas, records by CRLF or LF, fields
// that hold a comma, quote or line break enclosed in double quotes, a quote inside doubled
// (RFC 4180 §2). Each record keeps the line it starts on, so that a bad row is reported by line.
// A malformed record (an unterminated or stray quote) does not stop the reader: it is returned
// with its problem, and reading goes on at the next line.

export interface CsvRecord {
  /** 1-based line the record starts on. */
  line: number
  fields: string[]
  /** Set when the record is malformed; `fields` is then what could be read. */
  problem?: string
}

export interface ParseCsvOptions {
  /** Largest field, in characters; a longer one makes its record malformed. */
  maxFieldLength: number
  /** Most records; reading stops after this many (the caller reports the excess). */
  maxRecords: number
}

export function parseCsv(text: string, options: ParseCsvOptions): CsvRecord[] {
  const records: CsvRecord[] = []
  let i = 0
  let line = 1
  const n = text.length
  // A byte-order mark is not part of the first field.
  if (text.charCodeAt(0) === 0xfeff) i = 1
  while (i < n && records.length <= options.maxRecords) {
    const start = line
    const fields: string[] = []
    let field = ''
    let problem: string | undefined
    let quoted = false
    let afterQuote = false
    let ended = false
    while (i < n && !ended) {
      const c = text[i] as string
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          quoted = false
          afterQuote = true
          i++
          continue
        }
        if (c === '\n') line++
        field += c
        i++
      } else if (c === ',') {
        fields.push(field)
        field = ''
        afterQuote = false
        i++
      } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
        i += c === '\r' ? 2 : 1
        line++
        ended = true
      } else if (c === '"') {
        if (field.length === 0 && !afterQuote) quoted = true
        else problem ??= `a stray double quote in field ${fields.length + 1}`
        i++
      } else {
        if (afterQuote) problem ??= `text after the closing quote of field ${fields.length + 1}`
        field += c
        i++
      }
      if (field.length > options.maxFieldLength) problem ??= `field ${fields.length + 1} is longer than ${options.maxFieldLength} characters`
    }
    if (quoted) {
      // An unterminated quote swallows the rest of the file; report it and resume after its line.
      problem = `field ${fields.length + 1} opens a double quote that is never closed`
      const restart = indexAfterLine(text, start)
      line = start + 1
      i = restart
    }
    fields.push(field)
    // A blank line is no record.
    if (fields.length === 1 && fields[0] === '' && problem === undefined) continue
    records.push(problem === undefined ? { line: start, fields } : { line: start, fields, problem })
  }
  return records
}

/** The index just after the line `line` (1-based) of `text`. */
function indexAfterLine(text: string, line: number): number {
  let i = 0
  for (let l = 1; l <= line; l++) {
    const nl = text.indexOf('\n', i)
    if (nl < 0) return text.length
    i = nl + 1
  }
  return i
}
