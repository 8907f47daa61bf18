#!/usr/bin/env node
// Entry point of the `cw` bin. Counterweight runs on Node.js 22, pinned through the npm package
// `node`; when an older Node starts this file, it hands over to the pinned one.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const REQUIRED_MAJOR = 22
const main = fileURLToPath(new URL('../cli/main.ts', import.meta.url))
const major = Number(process.versions.node.split('.')[0])

if (major < REQUIRED_MAJOR) {
  const require = createRequire(import.meta.url)
  const pinned = join(dirname(require.resolve('node/package.json')), 'bin', 'node')
  const result = spawnSync(pinned, ['--import=tsx', main, ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(result.status ?? 1)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import(main)
}
