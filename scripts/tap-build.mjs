// `pretap`: builds tap's test class with this project's plugin list (package.json "tap.plugin"
// drops @tapjs/typescript; tsx loads the sources instead). A fresh install ships a class built with
// the default plugins, so the first run builds it; later runs find it built and skip, so that
// test runs started side by side do not rebuild the same files under each other.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
const built = join(dirname(require.resolve('@tapjs/test/package.json')), 'test-built')
const source = join(built, 'src', 'index.ts')
const ready =
  existsSync(join(built, 'dist', 'esm', 'index.js')) &&
  existsSync(join(built, 'dist', 'commonjs', 'index.js')) &&
  existsSync(source) &&
  !readFileSync(source, 'utf8').includes('@tapjs/typescript')
if (!ready) {
  const result = spawnSync(process.execPath, [join(dirname(require.resolve('tap/package.json')), 'dist', 'esm', 'run.mjs'), 'build'], { stdio: 'inherit' })
  process.exit(result.status ?? 1)
}
