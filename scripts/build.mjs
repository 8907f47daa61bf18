// `npm run build`: compiles the sources the `cw` bin runs (protocols, hardware, edge-agent, gateway,
// provisioning, cli) to ESM JavaScript in dist/, one file per source file, so that a board runs
// them with plain Node and no TypeScript toolchain. esbuild only strips types; `npm run typecheck`
// is what checks them. Packages stay where they are (node_modules), as do data/ and bin/, which
// dist/ finds through cli/package-root.ts.
import { readdirSync, rmSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SOURCE_DIRS = ['protocols', 'hardware', 'edge-agent', 'gateway', 'provisioning', 'cli']
const outdir = join(ROOT, 'dist')

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

const entryPoints = SOURCE_DIRS.flatMap((dir) => sources(join(ROOT, dir)))
const started = performance.now()
rmSync(outdir, { recursive: true, force: true })
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: entryPoints.map((p) => relative(ROOT, p)),
  outbase: '.',
  outdir,
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  logLevel: 'warning',
})
if (result.errors.length > 0) process.exit(1)
// The dashboard's browser code (gateway/dashboard/web, with uPlot) as one bundle and one
// stylesheet, which dist/gateway/dashboard/assets.js serves: an installed package has no esbuild.
const web = await build({
  absWorkingDir: ROOT,
  entryPoints: ['gateway/dashboard/web/app.ts'],
  outdir: join(outdir, 'dashboard'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
})
if (web.errors.length > 0) process.exit(1)
console.log(`build: ${entryPoints.length} files in ${Math.round(performance.now() - started)} ms -> ${relative(ROOT, outdir)}/`)
