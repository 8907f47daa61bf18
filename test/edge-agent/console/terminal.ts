// Real terminals for the console tests: a socat pseudo-terminal pair standing in for the UART, and
// a terminal program (picocom) running in a detached tmux of 80×24 on its own socket, read back
// with capture-pane as a person would see it.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface PtyPair {
  /** The device's end (the agent's console port). */
  device: string
  /** The technician's end. */
  technician: string
  close(): Promise<void>
}

export async function ptyPair(dir: string, name: string): Promise<PtyPair> {
  const device = join(dir, `${name}-device`)
  const technician = join(dir, `${name}-tech`)
  const socat: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${device}`, `pty,raw,echo=0,link=${technician}`], { stdio: 'ignore' })
  const deadline = Date.now() + 10_000
  while (!(existsSync(device) && existsSync(technician))) {
    if (Date.now() > deadline) throw new Error('socat made no PTY pair')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    device,
    technician,
    close: async () => {
      if (socat.exitCode !== null) return
      const exited = new Promise((resolve) => socat.once('exit', resolve))
      socat.kill('SIGTERM')
      await exited
    },
  }
}

export interface Tmux {
  sendKeys(...keys: string[]): Promise<void>
  /** Sends `text` literally (no key names). */
  type(text: string): Promise<void>
  screen(): Promise<string>
  /** Waits until the screen holds `pattern`; returns the screen. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>
  kill(): Promise<void>
}

export async function tmuxRunning(socket: string, command: string[]): Promise<Tmux> {
  const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args])
  await tmux('new-session', '-d', '-x', '80', '-y', '24', '-s', 'console', ...command)
  const screen = async (): Promise<string> => (await tmux('capture-pane', '-p', '-t', 'console')).stdout
  return {
    sendKeys: async (...keys) => void (await tmux('send-keys', '-t', 'console', ...keys)),
    type: async (text) => void (await tmux('send-keys', '-t', 'console', '-l', text)),
    screen,
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const text = await screen()
        if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return text
        if (Date.now() > deadline) throw new Error(`the screen never showed ${String(pattern)}:\n${text}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
    kill: async () => void (await tmux('kill-server').catch(() => undefined)), // already gone when the program quit
  }
}
