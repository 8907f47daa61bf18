// The gateway's validation CSV: label by header name or index, with or without a header, plain or
// gzipped; every bad file is a ValidationSetError naming the line and field.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { readValidationCsv } from '../../../gateway/rounds/index.js'

const dir = await mkdtemp(join(tmpdir(), 'cw-validation-csv-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
let n = 0
async function file(text: string | Uint8Array): Promise<string> {
  const path = join(dir, `set-${n++}.csv`)
  await writeFile(path, text)
  return path
}

const GOOD = 'a,label,b\n0.5,3,1\n\n-2,0,4e-1\r\n7,9,0\n'

t.test('features in file order, the label column taken out', async (t) => {
  const set = await readValidationCsv({ file: await file(GOOD), label: 'label' })
  t.same(set.columns, ['a', 'b'])
  t.equal(set.width, 2)
  t.same(Array.from(set.labels), [3, 0, 9])
  t.same(Array.from(set.features), [0.5, 1, -2, Math.fround(0.4), 7, 0])
  const gz = await readValidationCsv({ file: await file(gzipSync(GOOD)), label: 'label' })
  t.same(gz, set, 'gzipped, the same set')
  const byIndex = await readValidationCsv({ file: await file(GOOD), label: 1 })
  t.same(byIndex, set, 'the label by index, the header found by itself')
  const bare = await readValidationCsv({ file: await file('0.5,3,1\n-2,0,0.4\n'), label: 1 })
  t.same(bare.columns, ['0', '2'], 'no header: columns are named by index')
  t.same(Array.from(bare.labels), [3, 0])
  const numericHeader = await readValidationCsv({ file: await file('7,8\n0.5,1\n'), label: '8', header: true })
  t.same([numericHeader.columns, Array.from(numericHeader.labels)], [['7'], [1]], 'a header of numbers, when told it is one')
  const semicolons = await readValidationCsv({ file: await file('x;y\n1;2\n'), label: 'y', delimiter: ';' })
  t.same(Array.from(semicolons.features), [1])
})

t.test('a bad file is a ValidationSetError naming the line and field', async (t) => {
  const cases: [string, string | Uint8Array, Parameters<typeof readValidationCsv>[0]['label'], Record<string, unknown>, RegExp?][] = [
    ['a cell that is not a number', 'a,label\n1,2\n3,4\nx1,5\n', 'label', { line: 4 }, /line 4: column 0 is not a finite number/],
    ['Infinity', 'a,label\n1,2\nInfinity,5\n', 'label', { line: 3 }],
    ['a missing cell', 'a,b,label\n1,2,3\n4,5\n', 'label', { line: 3 }],
    ['a fractional label', 'a,label\n1,2\n\n3,2.5\n', 'label', { line: 4, field: 'label' }, /line 4, column "label": label 2.5/],
    ['a negative label', 'a,label\n1,-1\n', 'label', { line: 2, field: 'label' }],
    ['a label beyond the class cap', 'a,label\n1,70000\n', 'label', { line: 2, field: 'label' }],
    ['a negative label without a header', '1,0\n1,-3\n', 1, { line: 2, field: 'label' }],
    ['no label column', 'a,b\n1,2\n', 'label', { line: 1, field: 'label' }, /no column named "label"/],
    ['a label index beyond the columns', '1,2\n', 5, { line: 1, field: 'label' }],
    ['a label name without a header', '1,2\n3,4\n', 'label', { line: 1, field: 'label' }, /not a header/],
    ['a repeated column name', 'a,a,label\n1,2,3\n', 'label', { line: 1, column: 1 }],
    ['a header cell with no name', 'a,,label\n1,2,3\n', 'label', { line: 1, column: 1 }],
    ['no feature column', 'label\n1\n', 'label', { line: 1 }],
    ['no data rows', 'a,label\n', 'label', {}, /no data rows/],
    ['an empty file', '', 'label', { line: 1 }, /is empty/],
    ['an empty label name', 'a,label\n1,2\n', '', { field: 'label' }],
    ['a fractional label index', 'a,label\n1,2\n', 1.5, { field: 'label' }],
  ]
  for (const [what, text, label, details, message] of cases) {
    const path = await file(text)
    await t.rejects(readValidationCsv({ file: path, label }), { code: 'CW_VALIDATION_SET', details: { source: path, ...details }, ...(message === undefined ? {} : { message }) }, what)
  }
  const missing = join(dir, 'missing.csv')
  await t.rejects(readValidationCsv({ file: missing, label: 'label' }), { code: 'CW_VALIDATION_SET', details: { source: missing, cause: 'ENOENT' } }, 'a missing file')
})

t.test('caps: rows, bytes and a header line are checked while reading', async (t) => {
  const rows = await file('a,label\n1,0\n2,1\n3,0\n')
  await t.rejects(readValidationCsv({ file: rows, label: 'label', maxRows: 2 }), { code: 'CW_VALIDATION_SET', details: { line: 4, maxRows: 2 } }, 'more rows than maxRows')
  t.equal((await readValidationCsv({ file: rows, label: 'label', maxRows: 3 })).labels.length, 3, 'exactly maxRows is fine')
  const big = await file(gzipSync(`a,label\n${'1,0\n'.repeat(100_000)}`))
  await t.rejects(readValidationCsv({ file: big, label: 'label', maxBytes: 64 * 1024 }), { code: 'CW_VALIDATION_SET', details: { maxBytes: 64 * 1024 } }, 'more bytes than maxBytes, counted after gunzip')
  const wide = await file(`${'x'.repeat(2 * 1024 * 1024)},label\n1,0\n`)
  await t.rejects(readValidationCsv({ file: wide, label: 'label' }), { code: 'CW_VALIDATION_SET', details: { line: 1 } }, 'a header line over its cap')
  for (const [field, value] of [['maxRows', 0], ['maxBytes', -1]] as const)
    await t.rejects(readValidationCsv({ file: rows, label: 'label', [field]: value }), { code: 'CW_VALIDATION_SET', details: { field } }, `${field} ${value}`)
  await t.rejects(readValidationCsv({ file: rows, label: 'label', delimiter: ';;' }), { code: 'CW_VALIDATION_SET', details: { field: 'delimiter' } })
})
