// A real SoftHSM2 token for tests, in a temporary directory. SoftHSM reads SOFTHSM2_CONF when the
// module is initialised (C_Initialize), so `createSoftHsm` sets it in this process before any
// store loads the module; every token a test file needs is initialised up front.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Tap } from './conformance.js'

const run = promisify(execFile)

/** Where Debian, Ubuntu and a source build put the module; SOFTHSM2_MODULE overrides. */
const MODULE_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/softhsm/libsofthsm2.so`,
  '/usr/local/lib/softhsm/libsofthsm2.so',
]

export const SOFTHSM_MODULE =
  process.env.SOFTHSM2_MODULE ?? MODULE_CANDIDATES.find((path) => existsSync(path)) ?? MODULE_CANDIDATES[0] ?? ''

export interface SoftHsm {
  readonly directory: string
  readonly config: string
  readonly module: string
  /** Initialises a token with `label` in the next free slot. */
  initToken(label: string, pin: string, soPin?: string): Promise<void>
  /** Runs pkcs11-tool (OpenSC) against this SoftHSM, for a second opinion from another program. */
  pkcs11Tool(args: string[]): Promise<string>
}

export async function createSoftHsm(t: Tap): Promise<SoftHsm> {
  const directory = await mkdtemp(join(tmpdir(), 'cw-softhsm-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const tokens = join(directory, 'tokens')
  await mkdir(tokens)
  const config = join(directory, 'softhsm2.conf')
  await writeFile(config, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`)
  process.env.SOFTHSM2_CONF = config
  const env = { ...process.env, SOFTHSM2_CONF: config }
  return {
    directory,
    config,
    module: SOFTHSM_MODULE,
    async initToken(label, pin, soPin = `so-${pin}`) {
      await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], { env })
    },
    async pkcs11Tool(args) {
      const { stdout } = await run('pkcs11-tool', ['--module', SOFTHSM_MODULE, ...args], { env })
      return stdout
    },
  }
}
