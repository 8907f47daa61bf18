// The implementation of `cw console`, `cw console grant` and `cw console code` (see console.ts).
import { readFile, writeFile } from 'node:fs/promises'
import { SerialPort } from 'serialport'
import { getAddress, isAddress, isHex, type Address, type Hex } from 'viem'
import {
  hashTechnicianGrant,
  oneTimeCode,
  parseDomain,
  parseTechnicianGrant,
  signConsoleLogin,
  signTechnicianGrant,
  verifyTechnicianGrant,
  type FleetDomain,
  type SignedTechnicianGrant,
} from '../../protocols/index.js'
import { openKeyStore, readFleetFile } from '../../hardware/index.js'
import { readKeyStoreConfig } from '../../provisioning/index.js'
import { address, integer } from '../arguments.js'
import { EXIT, toJson } from '../output.js'
import type { CodeOptions, ConsoleOptions, GrantOptions } from './console.js'
import { UsageError } from './decode.js'

/** What `cw console grant` writes: the grant, the owner's signature and the domain it is for. */
interface GrantFile extends SignedTechnicianGrant {
  domain: FleetDomain
}

const PROMPTS = ['cw# ', 'cw> ']
const MAX_ANSWER_BYTES = 1 << 20

async function readGrantFile(file: string): Promise<GrantFile> {
  const raw = JSON.parse(await readFile(file, 'utf8')) as { grant?: Record<string, unknown>; signature?: unknown; domain?: unknown }
  if (typeof raw.grant !== 'object' || raw.grant === null) throw new UsageError(`${file}: no grant`)
  const grant = parseTechnicianGrant({ ...raw.grant, validFrom: BigInt(String(raw.grant.validFrom)), validUntil: BigInt(String(raw.grant.validUntil)) })
  if (typeof raw.signature !== 'string' || !isHex(raw.signature)) throw new UsageError(`${file}: signature is not hex`)
  return { grant, signature: raw.signature, domain: parseDomain(raw.domain) }
}

async function technicianSigner(keyStoreFile: string, label: string) {
  const store = await openKeyStore(await readKeyStoreConfig(keyStoreFile))
  try {
    return { store, signer: await store.open(label) }
  } catch (err) {
    await store.close()
    throw err
  }
}

/** The `answer` payload the console checks: grant, owner's signature and the login signature. */
async function answerFor(grantFile: string, keyStore: string, keyLabel: string, challenge: Hex, device: Address): Promise<{ line: string; code: string }> {
  const granted = await readGrantFile(grantFile)
  const { store, signer } = await technicianSigner(keyStore, keyLabel)
  try {
    const login = { technician: granted.grant.technician, device, challenge, grant: hashTechnicianGrant(granted.domain, granted.grant) }
    const signature = await signConsoleLogin(granted.domain, login, signer)
    const payload = Buffer.from(JSON.stringify({ grant: JSON.parse(toJson(granted.grant)) as unknown, grantSignature: granted.signature, signature })).toString('base64url')
    return { line: `answer ${payload}`, code: oneTimeCode(signature) }
  } finally {
    await store.close()
  }
}

export async function runGrant(o: GrantOptions): Promise<void> {
  const fleet = await readFleetFile(o.fleet)
  const technician = address('--technician', o.technician)
  const devices = o.devices.split(',').map((d) => d.trim()).filter((d) => d !== '')
  for (const d of devices) if (d !== '*' && !isAddress(d, { strict: false })) throw new UsageError(`--devices: ${JSON.stringify(d)} is not an address or '*'`)
  const now = Math.floor(Date.now() / 1000)
  const validFrom = o.validFrom === undefined ? now : integer('--valid-from', o.validFrom, 0, Number.MAX_SAFE_INTEGER)
  const hours = integer('--valid-for', o.validFor, 1, 24 * 366)
  const grant = parseTechnicianGrant({
    technician,
    fleet: fleet.fleet,
    devices: devices.map((d) => (d === '*' ? d : getAddress(d))),
    commands: o.commands.split(',').map((c) => c.trim()).filter((c) => c !== ''),
    validFrom: BigInt(validFrom),
    validUntil: BigInt(validFrom + hours * 3600),
  })
  const store = await openKeyStore(await readKeyStoreConfig(o.ownerKey))
  try {
    const owner = await store.open(o.ownerLabel)
    const signed = await signTechnicianGrant(fleet.domain, grant, owner)
    if (!verifyTechnicianGrant(fleet.domain, signed, fleet.owner)) throw new UsageError(`the key ${o.ownerLabel} (${owner.address}) is not the fleet owner ${fleet.owner}`)
    await writeFile(o.out, `${toJson({ ...signed, domain: fleet.domain })}\n`, { mode: 0o644, flag: 'wx' })
    console.log(`grant for ${technician} written to ${o.out}, valid until ${new Date((validFrom + hours * 3600) * 1000).toISOString()}`)
  } finally {
    await store.close()
  }
}

export async function runCode(o: CodeOptions): Promise<void> {
  if (!isHex(o.challenge) || o.challenge.length !== 66) throw new UsageError('--challenge: expected the 32-byte 0x-hex the console printed')
  if (o.grant === undefined || o.keyStore === undefined || o.keyLabel === undefined) throw new UsageError('cw console code needs --grant, --key-store and --key-label')
  const { line, code } = await answerFor(o.grant, o.keyStore, o.keyLabel, o.challenge, address('--device', o.device))
  if (o.json === true) console.log(toJson({ answer: line, code }))
  else console.log(`paste this line into the console:\n${line}\none-time code (the console shows it when it accepts the answer): ${code}`)
}

/** A serial line with a buffer that commands read up to the next prompt. */
class ConsoleLine {
  #buffer = ''
  #waiter: (() => void) | undefined
  constructor(readonly port: SerialPort) {
    port.on('data', (chunk: Buffer) => {
      this.#buffer = (this.#buffer + chunk.toString('latin1')).slice(-MAX_ANSWER_BYTES)
      this.#waiter?.()
    })
  }
  write(text: string): void {
    this.port.write(text)
  }
  /** Everything up to and including the next prompt; the buffer then starts after it. */
  async untilPrompt(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (PROMPTS.some((p) => this.#buffer.endsWith(p))) {
        const text = this.#buffer
        this.#buffer = ''
        return text
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new UsageError(`no prompt from the console within ${timeoutMs / 1000} s`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiter = () => (clearTimeout(timer), resolve())
      })
    }
  }
  /** Runs one line; returns its output without the echo and the prompt. */
  async run(line: string, timeoutMs: number): Promise<string> {
    this.write(`${line}\r`)
    const text = await this.untilPrompt(timeoutMs)
    const start = text.indexOf('\r\n')
    return text.slice(start < 0 ? 0 : start + 2, text.length - 4).replace(/\r\n/g, '\n')
  }
}

export async function runConsole(command: string[], o: ConsoleOptions): Promise<void> {
  for (const [name, v] of [['--port', o.port], ['--grant', o.grant], ['--key-store', o.keyStore], ['--key-label', o.keyLabel]] as const)
    if (v === undefined) throw new UsageError(`${name} is required`)
  const timeoutMs = integer('--timeout', o.timeout, 1, 3600) * 1000
  const port = new SerialPort({ path: o.port, baudRate: integer('--baud', o.baud, 50, 4_000_000), autoOpen: false })
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
  const line = new ConsoleLine(port)
  try {
    line.write('\x03') // cancel whatever was typed or running; the console prints a prompt
    await line.untilPrompt(timeoutMs)
    const challengeText = await line.run('login', timeoutMs)
    const challenge = /0x[0-9a-fA-F]{64}/.exec(challengeText)?.[0] as Hex | undefined
    const device = /device (0x[0-9a-fA-F]{40})/.exec(challengeText)?.[1]
    if (challenge === undefined || device === undefined) {
      // e.g. locked after failed logins: the console's answer is the reason
      console.error(`error: the console gave no challenge: ${challengeText.trim().slice(0, 200)}`)
      process.exitCode = EXIT.rejected
      return
    }
    const { line: answer } = await answerFor(o.grant, o.keyStore, o.keyLabel, challenge, getAddress(device))
    const result = await line.run(answer, timeoutMs)
    if (!result.includes('logged in')) {
      console.error(`error: ${result.trim()}`)
      process.exitCode = EXIT.rejected
      return
    }
    if (command.length > 0) {
      const output = await line.run(command.join(' '), timeoutMs)
      process.stdout.write(output)
      process.exitCode = /^error:/m.test(output) ? EXIT.rejected : EXIT.ok
      await line.run('exit', timeoutMs)
      return
    }
    await interactive(line)
  } finally {
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()))
  }
}

/** Pass-through until Ctrl-] (as telnet and picocom users expect) or the port closes. */
async function interactive(line: ConsoleLine): Promise<void> {
  const stdin = process.stdin
  console.error('logged in; Ctrl-] to leave')
  line.write('\r')
  line.port.removeAllListeners('data')
  line.port.on('data', (chunk: Buffer) => process.stdout.write(chunk))
  if (stdin.isTTY) stdin.setRawMode(true)
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer): void => {
      if (chunk.includes(0x1d)) return finish()
      line.write(chunk.toString('latin1'))
    }
    const finish = (): void => {
      stdin.off('data', onData)
      if (stdin.isTTY) stdin.setRawMode(false)
      stdin.pause()
      line.write('exit\r')
      resolve()
    }
    stdin.on('data', onData)
    stdin.on('end', finish)
    line.port.on('close', finish)
  })
  await new Promise((resolve) => setTimeout(resolve, 100))
}
