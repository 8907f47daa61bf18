// Files of the installed package (package.json, data/, bin/) found the same way from the sources
// (cli/…) and from the compiled build (dist/cli/…): the nearest folder above this file that holds
// Counterweight's package.json.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'counterweight'

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no ${PACKAGE_NAME} package.json above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
}

let root: string | undefined

/** The absolute path of `relative` inside the package. */
export function packageFile(relative: string): string {
  root ??= findRoot()
  return join(root, relative)
}
