// Runs the `cw` bin as a child process and keeps its exit code and output, for tests of what a
// user of the command sees. A failing command resolves too: its code is part of what is asserted.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const CW_BIN = fileURLToPath(new URL('../../bin/cw.js', import.meta.url))

export interface Run {
  code: number
  stdout: string
  stderr: string
}

export interface RunCwOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
}

export async function runCw(args: readonly string[], options: RunCwOptions = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CW_BIN, ...args], options)
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
