// Prints `N passed, N failed` from tap's saved results (.tap/test-results/**/*.tap), counting
// every assertion, those inside subtests included, and not the subtests' own summary points.
// Argument: npm test's exit status; when it failed before tap ran (typecheck or lint), or a test
// file crashed without a failing assertion, that counts as one failure.
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
  let ok = 0
  let notOk = 0
  const parser = new Parser()
  // Each subtest shows up twice: as its own parser, and as one summary point in its parent.
  const attach = (p) => {
    p.on('assert', (result) => {
      if (result.skip || result.todo) return
      if (result.ok) ok++
      else notOk++
    })
    p.on('child', (child) => {
      attach(child)
      child.on('complete', (results) => {
        if (results.ok) ok--
        else notOk--
      })
    })
  }
  attach(parser)
  parser.on('complete', (results) => {
    passed += Math.max(0, ok)
    failed += Math.max(0, notOk)
    // A file that crashed, bailed out or ran no assertion at all still failed.
    if ((!results.ok && notOk <= 0) || results.count === 0) failed += 1
  })
  parser.end(readFileSync(file, 'utf8'))
}
if (status !== 0 && failed === 0) failed = 1
console.log(`${passed} passed, ${failed} failed`)
