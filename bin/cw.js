#!/usr/bin/env node
// Entry point of the `cw` bin. It runs the compiled build in dist/ (`npm run build`) with plain
// Node. In a development checkout — the TypeScript sources beside this file and tsx installed — it
// runs the sources through tsx instead, so that an edit needs no rebuild; CW_RUNTIME=dist or
// CW_RUNTIME=source chooses explicitly. Counterweight runs on Node.js 22, pinned through the npm
// package `node`; when an older Node starts this file, it hands this same file over to the pinned
// one. Every path here is resolved from this file, never from the current directory, so `cw` works
// from anywhere.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const REQUIRED_MAJOR = 22
const here = fileURLToPath(import.meta.url)
const dist = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const source = fileURLToPath(new URL('../cli/main.ts', import.meta.url))
const require = createRequire(import.meta.url)
const major = Number(process.versions.node.split('.')[0])

const resolves = (id) => {
  try {
    return require.resolve(id)
  } catch {
    return undefined
  }
}

function fail(message) {
  process.stderr.write(`cw: ${message}\n`)
  process.exit(1)
}

if (major < REQUIRED_MAJOR) {
  const nodePackage = resolves('node/package.json')
  const pinned = nodePackage === undefined ? undefined : join(dirname(nodePackage), 'bin', 'node')
  if (pinned === undefined || !existsSync(pinned)) fail(`Node ${process.versions.node} is too old, and the pinned Node ${REQUIRED_MAJOR} (npm package \`node\`) is not installed`)
  const result = spawnSync(pinned, [here, ...process.argv.slice(2)], { stdio: 'inherit' })
  if (result.error !== undefined) fail(`could not start the pinned Node: ${result.error.message}`)
  process.exit(result.status ?? 1)
}

const choice = process.env.CW_RUNTIME
if (choice !== undefined && choice !== 'dist' && choice !== 'source') fail(`CW_RUNTIME must be dist or source, not ${JSON.stringify(choice)}`)
const development = existsSync(source) && resolves('tsx/esm/api') !== undefined
const runtime = choice ?? (development ? 'source' : 'dist')
// The demo's agents and gateway are `cw` processes too: they run what this one runs.
process.env.CW_RUNTIME = runtime

if (runtime === 'source') {
  if (!development) fail('CW_RUNTIME=source needs the TypeScript sources and tsx (a development install)')
  // A bare specifier in import() resolves from this file, so tsx is found wherever cw runs.
  const { register } = await import('tsx/esm/api')
  register()
  await import(pathToFileURL(source).href)
} else {
  if (!existsSync(dist)) fail('the compiled build is missing: run `npm run build` (or set CW_RUNTIME=source in a development checkout)')
  await import(pathToFileURL(dist).href)
}
