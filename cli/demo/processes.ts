// The demo's child processes: each `cw` command runs as its own process, its output kept in a
// log file; the group stops them all (SIGTERM, then SIGKILL after a grace period) and is stopped
// by the demo's own exit or signals, so that nothing is left behind.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { packageFile } from '../package-root.js'

const CW_BIN = packageFile('bin/cw.js')

export interface ManagedProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly log: string
  /** Date.now() when it was spawned. */
  readonly startedAt: number
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

export class ProcessGroup {
  readonly #running = new Map<string, ManagedProcess>()
  readonly #logs: WriteStream[] = []
  #onExit = (): void => this.killAll()

  constructor() {
    process.once('exit', this.#onExit)
  }

  /** The `cw` command line for `args`, on the Node that runs this process. */
  static cw(args: readonly string[]): [string, string[]] {
    return [process.execPath, [CW_BIN, ...args]]
  }

  /** Starts a long-running `cw` process whose stdout and stderr go to `log`. */
  start(name: string, args: readonly string[], options: { log: string; env?: NodeJS.ProcessEnv }): ManagedProcess {
    const [command, argv] = ProcessGroup.cw(args)
    const startedAt = Date.now()
    const out = createWriteStream(options.log, { flags: 'a' })
    this.#logs.push(out)
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
    child.stdout.pipe(out, { end: false })
    child.stderr.pipe(out, { end: false })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#running.delete(name)
        resolve({ code, signal })
      })
    })
    const managed = { name, child, exited, log: options.log, startedAt }
    this.#running.set(name, managed)
    return managed
  }

  /** Runs a `cw` command to completion and returns its output. */
  async run(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
    const [command, argv] = ProcessGroup.cw(args)
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
    const name = `run:${child.pid ?? 0}`
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    this.#running.set(name, { name, child, exited, log: '', startedAt: Date.now() })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    const { code } = await exited
    clearTimeout(timer)
    this.#running.delete(name)
    return { code, stdout, stderr }
  }

  get(name: string): ManagedProcess | undefined {
    return this.#running.get(name)
  }

  get pids(): number[] {
    return [...this.#running.values()].flatMap((p) => (p.child.pid === undefined ? [] : [p.child.pid]))
  }

  /** SIGTERM to every process, SIGKILL to any still running after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<{ name: string; code: number | null; signal: NodeJS.Signals | null; killed: boolean }[]> {
    const all = [...this.#running.values()]
    for (const p of all) p.child.kill('SIGTERM')
    const results = await Promise.all(
      all.map(async (p) => {
        let killed = false
        const timer = setTimeout(() => {
          killed = true
          p.child.kill('SIGKILL')
        }, graceMs)
        const r = await p.exited
        clearTimeout(timer)
        return { name: p.name, ...r, killed }
      }),
    )
    for (const log of this.#logs) log.end()
    process.off('exit', this.#onExit)
    return results
  }

  /** Last resort, synchronous (from an `exit` handler). */
  killAll(): void {
    for (const p of this.#running.values()) p.child.kill('SIGKILL')
  }
}
