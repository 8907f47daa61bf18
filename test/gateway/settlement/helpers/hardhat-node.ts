// A separately started local JSON-RPC node for tests: `hardhat node` (Hardhat 3, EDR inside),
// offline, on 127.0.0.1 and a free port, stopped in teardown. Hardhat insists on a local
// installation, so its temporary project links this repository's node_modules.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const HARDHAT_CLI = join(ROOT, 'node_modules/hardhat/dist/src/cli.js')
const START_TIMEOUT_MS = 60_000

/** Hardhat's well-known development keys (accounts #0..#2 of its default mnemonic). */
export const HARDHAT_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
] as const

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface HardhatNode {
  readonly url: string
  readonly port: number
  stop(): Promise<void>
}

export async function startHardhatNode(): Promise<HardhatNode> {
  const directory = await mkdtemp(join(tmpdir(), 'cw-hardhat-'))
  await writeFile(join(directory, 'package.json'), '{"type":"module"}\n')
  await writeFile(join(directory, 'hardhat.config.js'), 'export default {}\n')
  await symlink(join(ROOT, 'node_modules'), join(directory, 'node_modules'), 'dir')
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, [HARDHAT_CLI, 'node', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: directory,
    env: { ...process.env, CI: 'true', HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hardhat node did not start in ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Started HTTP')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`hardhat node exited with ${code}:\n${output}`))
    })
  })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    await rm(directory, { recursive: true, force: true })
  }
  try {
    await started
  } catch (err) {
    await stop()
    throw err
  }
  // Keep draining its output so that the pipe never fills.
  child.stdout?.resume()
  return { url: `http://127.0.0.1:${port}`, port, stop }
}
