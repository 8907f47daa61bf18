// The compiled build as a board runs it: `npm run build` writes dist/, and bin/cw.js runs it with
// plain Node (CW_RUNTIME=dist; no tsx in the process) from a directory outside the repository.
// Each command loads its implementation only when it runs: `cw --version` and `cw <cmd> --help`
// load no libp2p, ONNX Runtime, viem or chain code (traced with a module resolve hook).
import t from 'tap'
import type * as Assets from '../../gateway/dashboard/assets.js'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bin = join(root, 'bin', 'cw.js')
let version = ''
let dir = ''
let hook = ''

t.before(async () => {
  version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version
  dir = await mkdtemp(join(tmpdir(), 'cw-build-'))
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' })
  if (built.status !== 0) throw new Error(`npm run build failed: ${built.stderr}`)
  // Records every module URL the process resolves, one a line, in $CW_TRACE_FILE.
  hook = join(dir, 'trace-hook.mjs')
  await writeFile(
    hook,
    `import { registerHooks } from 'node:module'
import { appendFileSync } from 'node:fs'
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); appendFileSync(process.env.CW_TRACE_FILE, r.url + '\\n'); return r } })
`,
  )
})
t.teardown(() => rm(dir, { recursive: true, force: true }))

interface Run {
  code: number
  stdout: string
  stderr: string
  loaded: string[]
}

let traces = 0
async function cw(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const trace = join(dir, `trace-${traces++}.txt`)
  await writeFile(trace, '')
  const options = { cwd: dir, env: { ...process.env, CW_RUNTIME: 'dist', CW_TRACE_FILE: trace, ...env } }
  let result: Omit<Run, 'loaded'>
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', pathToFileURL(hook).href, bin, ...args], options)
    result = { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    result = { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
  return { ...result, loaded: (await readFile(trace, 'utf8')).split('\n').filter((l) => l.length > 0) }
}

const HEAVY = /node_modules\/(libp2p|@libp2p|@chainsafe|onnxruntime-node|onnxruntime-web|onnxruntime-common|viem|@nomicfoundation|level|classic-level|zod|pino|johnny-five|serialport|pkcs11js|tsx)\//

t.test('the build holds the dashboard bundle, which the compiled gateway serves without esbuild', async (t) => {
  const assets = (await import(pathToFileURL(join(root, 'dist', 'gateway', 'dashboard', 'assets.js')).href)) as typeof Assets
  const { js, css } = await assets.loadDashboardAssets()
  t.match(js, /uPlot|u-legend|accuracy/, 'the page script with uPlot')
  t.match(css, /\.uplot/, "uPlot's stylesheet")
})

t.test('cw --version runs the build with plain Node, from any directory', async (t) => {
  t.ok(existsSync(join(root, 'dist', 'cli', 'main.js')), 'npm run build wrote dist/cli/main.js')
  const run = await cw(['--version'])
  t.equal(run.code, 0)
  t.equal(run.stdout.trim(), version)
  t.ok(run.loaded.some((u) => u.includes('/dist/cli/main.js')), 'dist/cli/main.js ran')
  t.notOk(run.loaded.some((u) => u.endsWith('.ts')), 'no TypeScript source was loaded')
  t.same(run.loaded.filter((u) => HEAVY.test(u)), [], 'no libp2p, ONNX Runtime, viem, level, zod, pino or tsx')
})

for (const command of ['agent start', 'agent status', 'gateway start', 'chain serve', 'decode', 'audit round', 'device enroll', 'fleet init', 'rewards claim', 'demo']) {
  t.test(`cw ${command} --help loads only the option definitions`, async (t) => {
    const run = await cw([...command.split(' '), '--help'])
    t.equal(run.code, 0)
    t.match(run.stdout, `Usage: cw ${command}`)
    t.same(run.loaded.filter((u) => HEAVY.test(u) || u.includes('/dist/cli/actions/')), [], 'no implementation module was loaded')
  })
}

t.test('a command loads its implementation when it runs, and its errors keep their exit codes', async (t) => {
  const missing = await cw(['agent', 'status', '--config', join(dir, 'missing.json')])
  t.equal(missing.code, 1, 'a missing device.json is refused')
  t.match(missing.stderr, /^error CW_CONFIG: .*missing\.json: does not exist/)
  t.ok(missing.loaded.some((u) => u.endsWith('/dist/cli/actions/agent.js')), 'the agent implementation was loaded')
  // `cw agent status` (goal: ≤ 10× a bare node) reads device.json with zod and viem/utils only:
  // not viem's barrel (its chain client), pino, libp2p, ONNX Runtime or level.
  const statusHeavy = /node_modules\/(libp2p|@libp2p|@chainsafe|onnxruntime-node|onnxruntime-web|onnxruntime-common|@nomicfoundation|level|classic-level|pino|serialport|pkcs11js|tsx)\/|node_modules\/viem\/_esm\/index\.js/
  t.same(missing.loaded.filter((u) => statusHeavy.test(u)), [], 'cw agent status loads no chain client, logger, mesh, ONNX Runtime or database')
  const bad = await cw(['agent', 'start', '--config', 'x.json', '--log-level', 'loud'])
  t.equal(bad.code, 2, 'a bad option value is a usage error')
  t.match(bad.stderr, /--log-level must be one of/)
  const garbage = join(dir, 'garbage.bin')
  await writeFile(garbage, Buffer.from([1, 2, 3]))
  const decoded = await cw(['decode', 'Receipt', garbage])
  t.equal(decoded.code, 1, 'an undecodable message is refused')
  t.match(decoded.stderr, /^error [A-Z_]+: /)
})

t.test('CW_RUNTIME is checked, and source mode runs the TypeScript through tsx', async (t) => {
  const wrong = await cw(['--version'], { CW_RUNTIME: 'wasm' })
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /CW_RUNTIME must be dist or source/)
  const source = await cw(['--version'], { CW_RUNTIME: 'source' })
  t.equal(source.code, 0)
  t.equal(source.stdout.trim(), version)
  t.ok(source.loaded.some((u) => u.endsWith('/cli/main.ts')), 'cli/main.ts ran')
})

t.test('npm pack ships the build, the bin and the data, and no TypeScript source or test', async (t) => {
  const npm = process.env.npm_execpath
  const args = ['pack', '--dry-run', '--json', '--ignore-scripts']
  const packed = npm === undefined ? spawnSync('npm', args, { cwd: root, encoding: 'utf8' }) : spawnSync(process.execPath, [npm, ...args], { cwd: root, encoding: 'utf8' })
  t.equal(packed.status, 0, packed.stderr)
  const [listing] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }]
  const files = listing.files.map((f) => f.path)
  for (const file of ['bin/cw.js', 'dist/cli/main.js', 'dist/cli/actions/agent.js', 'dist/edge-agent/daemon/agent-daemon.js', 'data/digits.csv.gz', 'deploy/counterweight-agent.service', 'scripts/postinstall.mjs', 'package.json'])
    t.ok(files.includes(file), `${file} is in the tarball`)
  t.same(files.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.startsWith('test/') || f.startsWith('bench/')), [], 'no sources, tests or benchmarks')
})
