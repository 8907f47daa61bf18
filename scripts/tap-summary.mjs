// Prints `N passed, N failed` from tap's saved results (.tap/test-results/**/*.tap), counting
// every assertion, subtests included. Argument: npm test's exit status; when it failed before
// tap ran (typecheck or lint), that counts as one failure.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Parser } from 'tap-parser'

const status = Number(process.argv[2] ?? 0)
const dir = '.tap/test-results'

const files = []
const walk = (d) => {
  let entries
  try {
    entries = readdirSync(d, { withFileTypes: true })
  } catch {
    return // no results: tap did not run
  }
  for (const e of entries) {
    const p = join(d, e.name)
    if (e.isDirectory()) walk(p)
    else if (e.name.endsWith('.tap')) files.push(p)
  }
}
walk(dir)

let passed = 0
let failed = 0
for (const file of files) {
  const parser = new Parser({ flat: true })
  parser.on('complete', (results) => {
    passed += results.pass - (results.todo ?? 0) - (results.skip ?? 0)
    failed += results.fail
    // A file that crashed, bailed out or ran no assertion at all still failed.
    if ((!results.ok && results.fail === 0) || results.count === 0) failed += 1
  })
  parser.end(readFileSync(file, 'utf8'))
}
if (status !== 0 && failed === 0) failed = 1
console.log(`${passed} passed, ${failed} failed`)
