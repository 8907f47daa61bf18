// The dashboard's browser code: web/app.ts with uPlot, bundled by esbuild. An installed package
// serves the bundle `npm run build` wrote to dist/dashboard/ (esbuild is a development tool);
// a source checkout bundles it in memory on first use. Nothing is fetched from elsewhere, so the
// page works on a gateway with no internet.
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type * as Esbuild from 'esbuild'
import { DashboardAssetsError } from '../errors.js'

export interface DashboardAssets {
  js: string
  css: string
}

const HERE = dirname(fileURLToPath(import.meta.url))
/** Where scripts/build.mjs writes the bundle, relative to the package root. */
export const DIST_ASSETS_DIR = 'dist/dashboard'
export const APP_ENTRY = join(HERE, 'web', 'app.ts')

/** esbuild options of the bundle, shared with scripts/build.mjs. */
export const BUNDLE_OPTIONS = { bundle: true, format: 'iife', platform: 'browser', target: ['chrome110', 'firefox110', 'safari16'], minify: true, legalComments: 'none' } as const

async function fromDist(): Promise<DashboardAssets> {
  // dist/gateway/dashboard/assets.js → dist/dashboard/
  const dir = join(HERE, '..', '..', 'dashboard')
  try {
    return { js: await readFile(join(dir, 'app.js'), 'utf8'), css: await readFile(join(dir, 'app.css'), 'utf8') }
  } catch (err) {
    throw new DashboardAssetsError(`${DIST_ASSETS_DIR}/app.js is missing: run npm run build`, { cause: err })
  }
}

async function bundle(): Promise<DashboardAssets> {
  let esbuild: typeof Esbuild
  try {
    esbuild = await import('esbuild')
  } catch (err) {
    throw new DashboardAssetsError('esbuild is not installed and there is no prebuilt bundle', { cause: err })
  }
  const result = await esbuild.build({ ...BUNDLE_OPTIONS, target: [...BUNDLE_OPTIONS.target], entryPoints: [APP_ENTRY], outdir: 'out', write: false, logLevel: 'silent' })
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? ''
  if (js === undefined) throw new DashboardAssetsError('esbuild produced no JavaScript')
  return { js, css }
}

/** The bundle: prebuilt when this module runs compiled (from dist/), else built now. */
export function loadDashboardAssets(): Promise<DashboardAssets> {
  return import.meta.url.endsWith('.js') ? fromDist() : bundle()
}
