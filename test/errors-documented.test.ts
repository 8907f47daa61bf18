// Every error code of every top-level folder's errors.ts is documented in docs/errors.md, and
// codes are unique, so callers can rely on them.
import t from 'tap'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { BaseError } from '../protocols/errors.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const docs = readFileSync(join(root, 'docs/errors.md'), 'utf8')
const errorFiles = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('.') && d.name !== 'node_modules')
  .map((d) => join(root, d.name, 'errors.ts'))
  .filter((f) => existsSync(f))

t.ok(errorFiles.length >= 1, 'errors.ts files found')

const owners = new Map<string, string>()
for (const file of errorFiles) {
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  const classes = Object.entries(module).filter(
    (entry): entry is [string, typeof BaseError] =>
      typeof entry[1] === 'function' && (entry[1] === BaseError || (entry[1] as { prototype: unknown }).prototype instanceof BaseError),
  )
  t.test(file.slice(root.length), async (t) => {
    t.ok(classes.length > 0, 'exports error classes')
    for (const [name, cls] of classes) {
      const code = cls.code
      t.match(code, /^CW_[A-Z0-9_]+$/, `${name} has a stable code`)
      t.ok(docs.includes(`\`${code}\``), `${code} (${name}) is documented in docs/errors.md`)
      const owner = owners.get(code)
      if (owner !== undefined && owner !== name) t.fail(`${code} is used by both ${owner} and ${name}`)
      owners.set(code, name)
    }
  })
}

t.test('a thrown error carries its class code, details and cause', async (t) => {
  const { DecodeError } = await import('../protocols/errors.js')
  const cause = new Error('inner')
  const err = new DecodeError('Receipt', 'reason', 'too long', { cause })
  t.equal(err.code, 'CW_DECODE')
  t.equal(err.name, 'DecodeError')
  t.same(err.details, { type: 'Receipt', field: 'reason' })
  t.equal(err.cause, cause)
  t.ok(err instanceof BaseError && err instanceof Error)
})
