// Passwords and PINs from an environment variable or a file: what is stripped, what is refused,
// and that the secret never reaches a log line or an error.
import t from 'tap'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { readSecret } from '../../../hardware/keys/index.js'
import { SECRET_FILE_MAX_BYTES } from '../../../hardware/constants.js'

const directory = await mkdtemp(join(tmpdir(), 'cw-secret-'))
t.teardown(() => rm(directory, { recursive: true, force: true }))

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  return { code: 'DID_NOT_REJECT' }
}

t.test('from an environment variable', async (t) => {
  t.equal(await readSecret({ source: { env: 'PIN' }, secret: 'PIN', env: { PIN: ' 12 34 \n' } }), ' 12 34 \n', 'taken verbatim')
  const unset = await rejection(readSecret({ source: { env: 'PIN' }, secret: 'PIN', env: {} }))
  t.match(unset, { code: 'CW_SECRET_UNAVAILABLE', details: { secret: 'PIN', source: 'env', name: 'PIN' } })
  t.match(unset.message, /not set/)
  const empty = await rejection(readSecret({ source: { env: 'PIN' }, secret: 'PIN', env: { PIN: '' } }))
  t.match(empty, { code: 'CW_SECRET_UNAVAILABLE' })
  t.match(empty.message, /empty/)
})

t.test('from a file: one trailing line break is dropped', async (t) => {
  const cases: [string, string][] = [
    ['s3cret\n', 's3cret'],
    ['s3cret\r\n', 's3cret'],
    ['s3cret', 's3cret'],
    ['s3cret\n\n', 's3cret\n'],
    [' spaced ', ' spaced '],
  ]
  for (const [content, expected] of cases) {
    const file = join(directory, 'secret')
    await writeFile(file, content, { mode: 0o600 })
    t.equal(await readSecret({ source: { file }, secret: 'password' }), expected, JSON.stringify(content))
  }
})

t.test('unusable files are SecretUnavailableError without the secret in it', async (t) => {
  const empty = join(directory, 'empty')
  await writeFile(empty, '\n', { mode: 0o600 })
  const large = join(directory, 'large')
  await writeFile(large, 'x'.repeat(SECRET_FILE_MAX_BYTES + 1), { mode: 0o600 })
  for (const [file, problem] of [
    [join(directory, 'missing'), /cannot be opened/],
    [empty, /empty/],
    [large, /larger than/],
    [directory, /not a regular file/],
  ] as const) {
    const error = await rejection(readSecret({ source: { file }, secret: 'password' }))
    t.match(error, { code: 'CW_SECRET_UNAVAILABLE', details: { source: 'file', name: file } })
    t.match(error.message, problem)
    t.notMatch(JSON.stringify(error.details), 'xxxx', 'no file content in the details')
  }
})

t.test('a group-readable file works, with a warning that does not carry the secret', async (t) => {
  const file = join(directory, 'loose')
  await writeFile(file, 'loose-secret\n')
  await chmod(file, 0o644)
  const lines: string[] = []
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString())
        done()
      },
    }),
  )
  t.equal(await readSecret({ source: { file }, secret: 'PIN', logger }), 'loose-secret')
  t.equal(lines.length, 1, 'one warning')
  t.match(JSON.parse(lines[0] ?? '{}'), { level: 40, mode: '644' })
  t.notMatch(lines[0], 'loose-secret')
})

t.test('an aborted signal stops before reading', async (t) => {
  const error = await rejection(readSecret({ source: { env: 'X' }, secret: 'PIN', env: { X: 'y' }, signal: AbortSignal.abort() }))
  t.equal(error.name, 'AbortError')
})
