// The technician's serial console: a line-oriented shell on a serial port (UART, USB gadget)
// that works with plain picocom, screen and minicom. Before login only `help`, `whoami` and the
// login commands run; login is a challenge–response over an owner-signed TechnicianGrant. Every
// session event and command goes to the audit log. Nothing here can stop the agent: input is
// capped and filtered by the line editor, a command's failure is printed, a lost port is reopened.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { SerialPort } from 'serialport'
import { createPublicClient, http, isAddressEqual, keccak256, recoverAddress, toHex, type Address, type Hex } from 'viem'
import {
  BaseError,
  hashTechnicianGrant,
  oneTimeCode,
  parseConsoleLogin,
  parseTechnicianGrant,
  verifyConsoleLogin,
  verifyTechnicianGrant,
  type FleetDomain,
  type TechnicianGrant,
} from '../../protocols/index.js'
import { writeJsonConfig } from '../../hardware/index.js'
import type { AgentStatus } from '../daemon/agent-daemon.js'
import { parseAgentConfig } from '../daemon/config.js'
import { privacyText } from '../daemon/privacy-budget.js'
import { ConsoleUsageError } from '../errors.js'
import { AuditLog } from './audit-log.js'
import {
  AUDIT_FILE,
  AUDIT_TAIL_LINES,
  CHALLENGE_TTL_MS,
  LOCK_BASE_MS,
  LOCK_MAX_MS,
  MAX_LOGIN_FAILURES,
  PROMPT_LOCKED,
  PROMPT_OPEN,
  TERMINAL_COLUMNS,
  SELFTEST_TIMEOUT_MS,
  WATCH_INTERVAL_MS,
} from './constants.js'
import { LineEditor, type LineEvent } from './line-editor.js'

export interface ConsoleComponents {
  device: Address
  fleet: Hex
  /** The fleet owner, who signs grants. */
  owner: Address
  domain: FleetDomain
  status: () => AgentStatus
  /** The device key, for `selftest` (signs a throw-away digest). */
  signer: { address: Address; signDigest(digest: Hex): Promise<Hex> }
  /** The fleet chain's JSON-RPC URL, for `selftest`. */
  rpcUrl: string
  /** The outbox: its dead letters for `outbox`, and `outbox retry` sends the pending entries now. */
  outbox: { deadLetters(): Promise<readonly { round: string; attestationHash: Hex; reason: string }[]>; wake(): void }
  /** device.json, for `config get/set`. */
  deviceFile: string
  dataDir: string
  logger: Logger
  now?: () => number
}

export interface ConsoleInit {
  path: string
  baudRate: number
}

/** A command group a grant names; '*' allows every group. */
const GROUPS = { status: 'read', sensors: 'read', model: 'read', rounds: 'read', outbox: 'read', net: 'read', selftest: 'read', audit: 'read', config: 'config' } as const
type Command = keyof typeof GROUPS
const OPEN_COMMANDS = ['help', 'whoami', 'login', 'answer', 'exit'] as const
const COMMANDS = [...OPEN_COMMANDS, ...(Object.keys(GROUPS) as Command[])].sort()

const HELP = [
  'help                      this list',
  'whoami                    who is logged in',
  'login                     print a challenge for `cw console code`',
  'answer <login>            answer the challenge',
  'status [--json]           the agent: device, state, model, samples, ε spent and left',
  'sensors [--json]          the sensors; `sensors watch <id>` until Ctrl-C',
  'model [--json]            the model inference runs on, its round',
  'rounds [--json]           the last rounds and what became of them',
  'outbox [--json]           updates waiting for a receipt, dead letters',
  'outbox retry              send the pending updates now',
  'net [--json]              listen addresses, peers, gateways',
  'config get <path>         a field of device.json `agent` (e.g. windowSize)',
  'config set <path> <value> change it (validated; restart needed)',
  'selftest [--json]         key, sensors, model, chain, mesh: PASS or FAIL',
  'audit                     the last console events',
  'exit                      log out',
]

const cut = (line: string): string => (line.length > TERMINAL_COLUMNS - 1 ? `${line.slice(0, TERMINAL_COLUMNS - 2)}…` : line)
const errorText = (err: unknown): string => (err instanceof BaseError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err))

interface Session {
  technician: Address
  grant: TechnicianGrant
}

export class TechnicianConsole {
  readonly #c: ConsoleComponents
  readonly #init: ConsoleInit
  readonly #log: Logger
  readonly #audit: AuditLog
  readonly #editor: LineEditor
  #port: SerialPort | undefined
  #session: Session | undefined
  #challenge: { nonce: Hex; expires: number } | undefined
  #failures = 0
  #locks = 0
  #lockedUntil = 0
  #running: AbortController | undefined
  #queue: Promise<void> = Promise.resolve()
  #stopped = false

  constructor(components: ConsoleComponents, init: ConsoleInit) {
    this.#c = components
    this.#init = init
    this.#log = components.logger.child({ component: 'agent:console' })
    this.#audit = new AuditLog(join(components.dataDir, AUDIT_FILE))
    this.#editor = new LineEditor({ echo: (t) => this.#write(t), complete: (p) => COMMANDS.filter((c) => c.startsWith(p)) })
  }

  get #now(): number {
    return (this.#c.now ?? Date.now)()
  }

  async start(): Promise<void> {
    const port = new SerialPort({ path: this.#init.path, baudRate: this.#init.baudRate, autoOpen: false })
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
    this.#port = port
    port.on('data', (chunk: Buffer) => this.#onData(chunk))
    port.on('error', (err: Error) => this.#log.warn({ err: err.message }, 'console port error'))
    port.on('close', () => {
      this.#running?.abort()
      if (this.#session !== undefined) void this.#record('disconnect', 'session ended')
      this.#session = undefined
    })
    this.#log.info({ path: this.#init.path, baudRate: this.#init.baudRate }, 'console listening')
    this.#write(`\r\nCounterweight console on ${this.#c.device}\r\ntype help\r\n${this.#prompt()}`)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#running?.abort()
    await this.#queue
    const port = this.#port
    this.#port = undefined
    if (port?.isOpen === true) await new Promise<void>((resolve) => port.close(() => resolve()))
  }

  #prompt(): string {
    return this.#session === undefined ? PROMPT_LOCKED : PROMPT_OPEN
  }

  #write(text: string): void {
    if (this.#port?.isOpen === true) this.#port.write(text)
  }

  #print(lines: string | string[]): void {
    for (const line of Array.isArray(lines) ? lines : lines.split('\n')) this.#write(`${cut(line)}\r\n`)
  }

  #record(what: string, result: string): Promise<void> {
    return this.#audit.append({ time: this.#now, who: this.#session?.technician ?? null, what, result }).catch((err: unknown) => this.#log.warn({ err: errorText(err) }, 'audit log not written'))
  }

  #onData(chunk: Buffer): void {
    let events: LineEvent[]
    try {
      events = this.#editor.feed(chunk)
    } catch (err) {
      this.#log.warn({ err: errorText(err) }, 'console input dropped')
      return
    }
    for (const event of events) {
      if (event.kind === 'cancel') {
        if (this.#running !== undefined) this.#running.abort()
        else this.#write(this.#prompt())
        continue
      }
      if (this.#running !== undefined) continue // a command is running; Ctrl-C stops it
      this.#queue = this.#queue.then(() => this.#run(event))
    }
  }

  async #run(event: Exclude<LineEvent, { kind: 'cancel' }>): Promise<void> {
    if (this.#stopped) return
    const controller = new AbortController()
    this.#running = controller
    try {
      if (event.kind === 'overlong') {
        this.#print('error: line too long; ignored')
        await this.#record('(overlong line)', 'refused')
      } else if (event.text !== '') await this.#command(event.text, controller.signal)
    } catch (err) {
      this.#print(`error: ${errorText(err)}`)
    } finally {
      this.#running = undefined
      this.#write(this.#prompt())
    }
  }

  async #command(text: string, signal: AbortSignal): Promise<void> {
    const [name = '', ...args] = text.split(/\s+/)
    const json = args.includes('--json')
    const rest = args.filter((a) => a !== '--json')
    const audited = name === 'answer' ? 'answer' : text
    if (name === 'help') return this.#print(HELP)
    if (name === 'whoami') return this.#print(this.#session === undefined ? 'not logged in' : `${this.#session.technician} (${this.#session.grant.commands.join(',')})`)
    if (name === 'login') return this.#login()
    if (name === 'answer') return this.#answer(rest[0] ?? '')
    if (name === 'exit') {
      await this.#record('exit', 'ok')
      this.#session = undefined
      return this.#print('logged out')
    }
    if (!(name in GROUPS)) {
      await this.#record(audited, 'unknown')
      return this.#print(`error: unknown command ${JSON.stringify(name.slice(0, 32))}; type help`)
    }
    const session = this.#session
    if (session === undefined) {
      await this.#record(audited, 'refused: not logged in')
      return this.#print('error: login first (login, then answer)')
    }
    // Sending now is maintenance, not reading: `outbox retry` needs the maintain group.
    const group = name === 'outbox' && rest[0] === 'retry' ? 'maintain' : GROUPS[name as Command]
    if (!session.grant.commands.includes('*') && !session.grant.commands.includes(group)) {
      await this.#record(audited, `refused: grant lacks ${group}`)
      return this.#print(`error: your grant does not allow ${group} commands`)
    }
    try {
      await this.#dispatch(name as Command, rest, json, signal)
      await this.#record(audited, 'ok')
    } catch (err) {
      await this.#record(audited, `error: ${errorText(err)}`.slice(0, 200))
      throw err
    }
  }

  async #dispatch(name: Command, args: string[], json: boolean, signal: AbortSignal): Promise<void> {
    const status = this.#c.status()
    switch (name) {
      case 'status':
        if (json) return this.#write(`${JSON.stringify(status)}\r\n`)
        return this.#print([
          `device   ${status.device}`,
          `state    ${status.state}`,
          `model    ${status.model ?? 'none'}${status.modelRound === null ? '' : ` (round ${status.modelRound})`}`,
          `samples  ${status.samples}`,
          `outbox   ${status.outbox.pending} pending, ${status.outbox.dead} dead`,
          `privacy  ${privacyText(status.privacy)}`,
          `mesh     ${status.mesh.peers} peers, ${status.mesh.gateways} gateways`,
        ])
      case 'sensors': {
        if (args[0] === 'watch') return this.#watch(args[1] ?? '', json, signal)
        if (json) return this.#write(`${JSON.stringify(status.sensors)}\r\n`)
        return this.#print(status.sensors.length === 0 ? 'no sensors' : status.sensors.map((s) => `${s.id.padEnd(16)} ${s.driver.padEnd(12)} ${s.status.padEnd(10)} ${s.windows} windows`))
      }
      case 'outbox': {
        if (args[0] === 'retry') {
          this.#c.outbox.wake()
          return this.#print(`sending ${status.outbox.pending} pending now; dead letters were refused by a gateway and are not sent again`)
        }
        const dead = (await this.#c.outbox.deadLetters()).map((d) => ({ round: d.round, attestationHash: d.attestationHash, reason: d.reason }))
        if (json) return this.#write(`${JSON.stringify({ ...status.outbox, deadLetters: dead })}\r\n`)
        return this.#print([
          `${status.outbox.pending} pending, ${status.outbox.dead} dead letters, ${status.outbox.bytes} of ${status.outbox.maxBytes} bytes`,
          ...dead.map((d) => `dead     round ${d.round} ${d.attestationHash.slice(0, 18)}… ${d.reason}`),
        ])
      }
      case 'model': {
        const model = { model: status.model, round: status.modelRound, refused: status.refused }
        if (json) return this.#write(`${JSON.stringify(model)}\r\n`)
        return this.#print([`model    ${status.model ?? 'none yet (waiting for a settled model)'}`, `round    ${status.modelRound ?? '-'}`, ...status.refused.map((r) => `refused  ${r.model.slice(0, 18)}… ${r.reason}`)])
      }
      case 'rounds':
        if (json) return this.#write(`${JSON.stringify(status.rounds)}\r\n`)
        return this.#print(status.rounds.length === 0 ? 'no rounds yet' : status.rounds.map((r) => `${r.round.padStart(6)} ${r.status.padEnd(17)} ${r.reason ?? ''}`))
      case 'net': {
        const net = { peerId: status.peerId, multiaddrs: status.multiaddrs, ...status.mesh }
        if (json) return this.#write(`${JSON.stringify(net)}\r\n`)
        return this.#print([`peer     ${status.peerId}`, ...status.multiaddrs.map((m) => `listen   ${m}`), `peers    ${status.mesh.peers}`, `gateways ${status.mesh.gateways} connected`])
      }
      case 'selftest': {
        const checks = await this.#selftest(status, signal)
        if (json) return this.#write(`${JSON.stringify(checks)}\r\n`)
        this.#print(checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'} ${c.check.padEnd(10)} ${c.detail}`))
        if (checks.some((c) => !c.ok)) throw new ConsoleUsageError('selftest', `${checks.filter((c) => !c.ok).length} of ${checks.length} checks failed`)
        return
      }
      case 'audit': {
        const entries = await this.#audit.tail(AUDIT_TAIL_LINES)
        if (json) return this.#write(`${JSON.stringify(entries)}\r\n`)
        return this.#print(entries.map((e) => `${new Date(e.time).toISOString().slice(5, 19)} ${(e.who ?? '-').slice(0, 10)} ${e.what} => ${e.result}`))
      }
      case 'config':
        return this.#config(args)
    }
  }

  async #selftest(status: AgentStatus, signal: AbortSignal): Promise<{ check: string; ok: boolean; detail: string }[]> {
    const checks: { check: string; ok: boolean; detail: string }[] = []
    const check = async (name: string, run: () => Promise<string>): Promise<void> => {
      try {
        checks.push({ check: name, ok: true, detail: await run() })
      } catch (err) {
        checks.push({ check: name, ok: false, detail: errorText(err).slice(0, 60) })
      }
    }
    await check('key', async () => {
      const digest = keccak256(toHex(`selftest ${this.#now}`))
      const recovered = await recoverAddress({ hash: digest, signature: await this.#c.signer.signDigest(digest) })
      if (!isAddressEqual(recovered, this.#c.signer.address)) throw new Error(`signature recovers ${recovered}`)
      return 'signs and verifies'
    })
    await check('sensors', async () => {
      const bad = status.sensors.filter((s) => s.status === 'failed' || s.status === 'disconnected')
      if (status.sensors.length === 0) throw new Error('no sensors')
      if (bad.length > 0) throw new Error(`${bad.map((s) => s.id).join(', ')} ${bad[0]?.status ?? ''}`)
      return `${status.sensors.length} open`
    })
    await check('model', async () => {
      if (status.model === null) throw new Error('no settled model loaded yet')
      return `${status.model.slice(0, 18)}… loaded`
    })
    await check('chain', async () => {
      const client = createPublicClient({ transport: http(this.#c.rpcUrl, { retryCount: 0, timeout: SELFTEST_TIMEOUT_MS }) })
      signal.throwIfAborted()
      return `block ${await client.getBlockNumber()}`
    })
    await check('mesh', async () => {
      if (status.mesh.peers === 0) throw new Error('no peers connected')
      return `${status.mesh.peers} peers, ${status.mesh.gateways} gateways`
    })
    return checks
  }

  async #watch(id: string, json: boolean, signal: AbortSignal): Promise<void> {
    if (!this.#c.status().sensors.some((s) => s.id === id)) throw new ConsoleUsageError('sensors watch', `no sensor ${JSON.stringify(id.slice(0, 32))}; see sensors`)
    this.#print(json ? [] : [`watching ${id}; Ctrl-C to stop`])
    while (!signal.aborted) {
      const sensor = this.#c.status().sensors.find((s) => s.id === id)
      if (sensor !== undefined) this.#print(json ? JSON.stringify({ time: this.#now, ...sensor }) : `${new Date(this.#now).toISOString().slice(11, 19)} ${sensor.status} windows=${sensor.windows} dropped=${sensor.dropped} errors=${sensor.errors}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WATCH_INTERVAL_MS)
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
      })
    }
    this.#print('stopped')
  }

  async #config(args: string[]): Promise<void> {
    const [op, path = '', ...value] = args
    const raw = JSON.parse(await readFile(this.#c.deviceFile, 'utf8')) as Record<string, unknown>
    const agent = structuredClone((raw.agent ?? {}) as Record<string, unknown>)
    const keys = path.split('.').filter((k) => k !== '')
    if (keys.length === 0 || keys.some((k) => k === '__proto__' || k === 'constructor')) throw new ConsoleUsageError('config', 'config get|set <path> [value], e.g. config get windowSize')
    if (op === 'get') {
      const parsed = parseAgentConfig(agent, this.#c.deviceFile) as unknown as Record<string, unknown>
      let at: unknown = parsed
      for (const k of keys) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[k] : undefined
      if (at === undefined) throw new ConsoleUsageError('config get', `agent.${path} is not a field`)
      return this.#print(`agent.${path} = ${JSON.stringify(at)}`)
    }
    if (op !== 'set' || value.length === 0) throw new ConsoleUsageError('config', 'config get <path> | config set <path> <value>')
    const text = value.join(' ')
    let parsedValue: unknown
    try {
      parsedValue = JSON.parse(text)
    } catch {
      parsedValue = text
    }
    let at = agent
    for (const k of keys.slice(0, -1)) {
      const next = at[k]
      at[k] = typeof next === 'object' && next !== null ? { ...(next as Record<string, unknown>) } : {}
      at = at[k] as Record<string, unknown>
    }
    at[keys.at(-1) as string] = parsedValue
    parseAgentConfig(agent, this.#c.deviceFile) // throws a ConfigError naming agent.<field>
    await writeJsonConfig(this.#c.deviceFile, { ...raw, agent })
    this.#print(`agent.${path} = ${JSON.stringify(parsedValue)} written; restart needed`)
  }

  async #login(): Promise<void> {
    if (this.#now < this.#lockedUntil) return this.#print(`error: locked for ${Math.ceil((this.#lockedUntil - this.#now) / 1000)} s after failed logins`)
    const nonce = toHex(randomBytes(32))
    this.#challenge = { nonce, expires: this.#now + CHALLENGE_TTL_MS }
    await this.#record('login', 'challenge issued')
    this.#print(['challenge', nonce, `device ${this.#c.device}`, 'answer with: cw console code --challenge <hex> ...'])
  }

  async #answer(payload: string): Promise<void> {
    const refuse = async (reason: string): Promise<void> => {
      this.#failures++
      if (this.#failures >= MAX_LOGIN_FAILURES) {
        this.#lockedUntil = this.#now + Math.min(LOCK_MAX_MS, LOCK_BASE_MS * 2 ** this.#locks++)
        this.#failures = 0
      }
      await this.#record('answer', `refused: ${reason}`)
      this.#print(`login refused: ${reason}`)
    }
    if (this.#now < this.#lockedUntil) return this.#print(`error: locked for ${Math.ceil((this.#lockedUntil - this.#now) / 1000)} s after failed logins`)
    const challenge = this.#challenge
    this.#challenge = undefined // single use, whatever the answer
    if (challenge === undefined || this.#now > challenge.expires) return refuse('no challenge open; run login')
    let decoded: { grant: unknown; grantSignature: Hex; signature: Hex }
    try {
      decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof decoded
    } catch {
      return refuse('the answer does not decode')
    }
    let grant: TechnicianGrant
    try {
      const g = decoded.grant as Record<string, unknown>
      grant = parseTechnicianGrant({ ...g, validFrom: BigInt(String(g.validFrom)), validUntil: BigInt(String(g.validUntil)) })
      // Signatures first: nothing in the grant is trusted before the owner's signature is checked.
      if (!verifyTechnicianGrant(this.#c.domain, { grant, signature: decoded.grantSignature }, this.#c.owner)) return refuse('grant not signed by the fleet owner')
      const login = parseConsoleLogin({ technician: grant.technician, device: this.#c.device, challenge: challenge.nonce, grant: hashTechnicianGrant(this.#c.domain, grant) })
      if (!verifyConsoleLogin(this.#c.domain, login, decoded.signature)) return refuse('challenge signature does not match the technician')
    } catch (err) {
      return refuse(errorText(err))
    }
    const seconds = BigInt(Math.floor(this.#now / 1000))
    if (grant.fleet.toLowerCase() !== this.#c.fleet.toLowerCase()) return refuse(`grant is for fleet ${grant.fleet}, not this one`)
    if (!grant.devices.some((d) => d === '*' || isAddressEqual(d as Address, this.#c.device))) return refuse('grant does not name this device')
    if (seconds < grant.validFrom) return refuse('grant not yet valid')
    if (seconds > grant.validUntil) return refuse(`grant expired at ${new Date(Number(grant.validUntil) * 1000).toISOString()}`)
    this.#failures = 0
    this.#session = { technician: grant.technician, grant }
    await this.#record('answer', 'logged in')
    // The code `cw console code` printed for this answer: the technician sees the console took theirs.
    this.#print([`logged in as ${grant.technician}`, `one-time code ${oneTimeCode(decoded.signature)}, used`])
  }
}

/**
 * Starts the console when device.json configures one; a port that does not open is logged and the
 * agent runs on without it. Resolves to the stop function.
 */
export async function startTechnicianConsole(components: ConsoleComponents, init: (ConsoleInit & { enabled: boolean }) | undefined): Promise<() => Promise<void>> {
  if (init === undefined || !init.enabled) return async () => undefined
  const technicianConsole = new TechnicianConsole(components, init)
  try {
    await technicianConsole.start()
  } catch (err) {
    components.logger.child({ component: 'agent:console' }).error({ path: init.path, err: errorText(err) }, 'console port did not open; the agent runs without a console')
    return async () => undefined
  }
  return () => technicianConsole.stop()
}
