// The gateway dashboard: a web page for operators and fleet owners, served under /dashboard by
// the gateway's HTTP API (as its fallback handler). Everything under /dashboard/api needs a
// session, opened by a sign-in link that `cw gateway login` signs with an operator key; actions
// (start a round, change the schedule) need the same session and a JSON body. Live updates go
// out as Server-Sent Events: a `change` event whenever an update is decided, a round changes
// state or an inference attestation arrives, coalesced, after which the page reads again.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { getAddress, isAddress, isHex, type Address, type Hex } from 'viem'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { z } from 'zod'
import { ApiRequestError, DashboardAuthError } from '../errors.js'
import { json, readBody } from '../daemon/http-api.js'
import { scheduleSchema, type GatewayConfig } from '../daemon/config.js'
import { loadDashboardAssets, type DashboardAssets } from './assets.js'
import { checkLoginToken } from './login-token.js'
import { SessionStore, type Session } from './sessions.js'
import { DashboardViews, type ViewSources } from './views.js'
import {
  DASHBOARD_MAX_BODY_BYTES,
  DASHBOARD_PATH,
  EVENT_COALESCE_MS,
  EVENT_KEEPALIVE_MS,
  MAX_EVENT_STREAMS,
  MAX_LOGIN_TOKEN_CHARS,
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
} from './constants.js'
import type { DeviceActivity } from './device-activity.js'

export type Schedule = GatewayConfig['rounds']['schedule']

export interface DashboardComponents extends ViewSources {
  logger: Logger
  /** The gateway's own address. */
  gateway: Address
  /** Keys that may sign in: the fleet owner and fleet.json `operators`. */
  operators: readonly Address[]
  activity: DeviceActivity
  metrics: Registry
  keyStoreKind: string
  /** Cookies get `Secure` when the API serves HTTPS. */
  secure: boolean
  status(): Promise<{ state: string; round: number | null; mesh: { peers: number; subscribers: number }; updates: { accepted: number; rejected: Record<string, number> }; schedule: Schedule; lastError: string | null; model: { hash: Hex; accuracy: number | null } }>
  startRound(): Promise<unknown>
  setSchedule(schedule: Schedule): void
  /** Inference attestations from the mesh are fed to the activity from here. */
  subscribe?(listener: (evt: Event) => void): () => void
}

type Handler = (req: IncomingMessage, res: ServerResponse, session: Session, params: string[]) => Promise<void>

const sessionBody = z.strictObject({ token: z.string().min(1).max(MAX_LOGIN_TOKEN_CHARS) })

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Counterweight gateway</title><link rel="stylesheet" href="${DASHBOARD_PATH}/app.css"></head>
<body><div id="app"><p>Loading…</p></div><script src="${DASHBOARD_PATH}/app.js"></script></body></html>
`

/** What a field error says: the path of the first issue, and its message. */
function badInput(error: z.ZodError): ApiRequestError {
  const issue = error.issues[0]
  const field = issue?.path.join('.') || '(body)'
  return new ApiRequestError(400, `${field}: ${issue?.message ?? 'invalid'}`, { details: { field } })
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? ''
  if (!type.startsWith('application/json')) throw new ApiRequestError(400, 'content-type: expected application/json', { details: { field: 'content-type' } })
  const text = (await readBody(req, DASHBOARD_MAX_BODY_BYTES)).toString('utf8').trim()
  if (text === '') return {}
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new ApiRequestError(400, '(body): not JSON', { details: { field: '(body)' } })
  }
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === name) return v.join('=')
  }
  return undefined
}

export class Dashboard {
  readonly #c: DashboardComponents
  readonly #log: Logger
  readonly #sessions: SessionStore
  readonly #views: DashboardViews
  readonly #streams = new Set<ServerResponse>()
  #assets: Promise<DashboardAssets> | undefined
  #pending: NodeJS.Timeout | undefined
  #keepalive: NodeJS.Timeout | undefined
  #seq = 0
  #unsubscribe: (() => void) | undefined
  readonly #onChange = (): void => this.#schedulePush()
  readonly #routes: { method: string; pattern: RegExp; handler: Handler }[]

  constructor(components: DashboardComponents) {
    this.#c = components
    this.#log = components.logger.child({ component: 'gateway:dashboard' })
    this.#sessions = new SessionStore(components.now)
    this.#views = new DashboardViews(components)
    const n = (s: string | undefined): bigint => {
      if (s === undefined || !/^\d{1,19}$/.test(s)) throw new ApiRequestError(400, 'round: expected a round number', { details: { field: 'round' } })
      return BigInt(s)
    }
    const found = <T>(value: T | undefined, what: string): T => {
      if (value === undefined) throw new ApiRequestError(404, `no such ${what}`)
      return value
    }
    this.#routes = [
      { method: 'GET', pattern: /^\/api\/session$/, handler: async (_q, res, s) => json(res, 200, { operator: s.operator, expires: s.expires }) },
      { method: 'GET', pattern: /^\/api\/fleet$/, handler: async (_q, res) => json(res, 200, { now: this.#c.now(), devices: await this.#views.fleetRows() }) },
      {
        method: 'GET',
        pattern: /^\/api\/devices\/([^/]+)$/,
        handler: async (_q, res, _s, [d]) => {
          if (d === undefined || !isAddress(d, { strict: false })) throw new ApiRequestError(400, 'device: expected an address', { details: { field: 'device' } })
          json(res, 200, found(await this.#views.device(getAddress(d)), 'device'))
        },
      },
      { method: 'GET', pattern: /^\/api\/rounds$/, handler: async (_q, res) => json(res, 200, await this.#views.rounds()) },
      { method: 'GET', pattern: /^\/api\/rounds\/([^/]+)$/, handler: async (_q, res, _s, [r]) => json(res, 200, found(await this.#views.round(n(r)), 'round')) },
      { method: 'POST', pattern: /^\/api\/rounds\/([^/]+)\/audit$/, handler: async (_q, res, _s, [r]) => json(res, 200, found(await this.#views.audit(n(r)), 'round record')) },
      {
        method: 'GET',
        pattern: /^\/api\/rounds\/([^/]+)\/blobs\/([^/]+)$/,
        handler: async (_q, res, _s, [r, h]) => {
          if (h === undefined || !isHex(h, { strict: true }) || h.length !== 66) throw new ApiRequestError(400, 'hash: expected 32 bytes of hex', { details: { field: 'hash' } })
          const bytes = found(await this.#views.blob(n(r), h), 'blob of this round')
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${h.toLowerCase()}.bin"`, 'cache-control': 'no-store' })
          res.end(bytes)
        },
      },
      { method: 'GET', pattern: /^\/api\/health$/, handler: async (_q, res) => json(res, 200, await this.#health()) },
      { method: 'GET', pattern: /^\/api\/events$/, handler: async (req, res) => this.#events(req, res) },
      {
        method: 'POST',
        pattern: /^\/api\/rounds$/,
        handler: async (req, res, s) => {
          const body = await readJson(req)
          const parsed = z.strictObject({}).safeParse(body)
          if (!parsed.success) throw badInput(parsed.error)
          const started = await this.#c.startRound()
          this.#log.info({ operator: s.operator }, 'round started from the dashboard')
          this.#schedulePush()
          json(res, 201, started)
        },
      },
      {
        method: 'PUT',
        pattern: /^\/api\/schedule$/,
        handler: async (req, res, s) => {
          const parsed = scheduleSchema.safeParse(await readJson(req))
          if (!parsed.success) throw badInput(parsed.error)
          this.#c.setSchedule(parsed.data)
          this.#log.info({ operator: s.operator, schedule: parsed.data }, 'schedule changed from the dashboard')
          this.#schedulePush()
          json(res, 200, { schedule: parsed.data })
        },
      },
    ]
  }

  start(): void {
    this.#c.activity.addEventListener('change', this.#onChange)
    this.#unsubscribe = this.#c.subscribe?.((evt) => {
      const detail = (evt as CustomEvent<{ attestation?: { message: Parameters<DeviceActivity['inference']>[0] } }>).detail
      if (detail.attestation !== undefined) this.#c.activity.inference(detail.attestation.message)
    })
    this.#keepalive = setInterval(() => {
      for (const res of this.#streams) res.write(': keep-alive\n\n')
    }, EVENT_KEEPALIVE_MS)
    this.#keepalive.unref()
  }

  stop(): void {
    this.#c.activity.removeEventListener('change', this.#onChange)
    this.#unsubscribe?.()
    clearInterval(this.#keepalive)
    clearTimeout(this.#pending)
    for (const res of this.#streams) res.end()
    this.#streams.clear()
    this.#sessions.clear()
  }

  /** The HTTP API's fallback: true when the request was a dashboard one (answered or thrown). */
  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (path !== DASHBOARD_PATH && !path.startsWith(`${DASHBOARD_PATH}/`)) return false
    const sub = path.slice(DASHBOARD_PATH.length) || '/'
    const method = req.method ?? ''
    if (method === 'GET') req.resume()
    if (sub === '/' || sub === '/index.html') {
      this.#only(method, ['GET'], path)
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        // Only the gateway's own script and styles run; nothing is framed or fetched elsewhere.
        'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      })
      res.end(HTML)
      return true
    }
    if (sub === '/app.js' || sub === '/app.css') {
      this.#only(method, ['GET'], path)
      this.#assets ??= loadDashboardAssets()
      const assets = await this.#assets.catch((err: unknown) => {
        this.#assets = undefined
        throw err
      })
      res.writeHead(200, { 'content-type': sub === '/app.js' ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' })
      res.end(sub === '/app.js' ? assets.js : assets.css)
      return true
    }
    if (sub === '/api/session' && (method === 'POST' || method === 'DELETE')) {
      if (method === 'POST') await this.#signIn(req, res)
      else {
        this.#sessions.delete(cookieOf(req, SESSION_COOKIE))
        res.setHeader('set-cookie', this.#cookie('', 0))
        json(res, 200, { signedOut: true })
      }
      return true
    }
    const matches = this.#routes.filter((r) => r.pattern.test(sub))
    if (matches.length === 0) throw new ApiRequestError(404, `no such path ${path.slice(0, 128)}`)
    const route = matches.find((r) => r.method === method)
    if (route === undefined) {
      res.setHeader('allow', matches.map((r) => r.method).join(', '))
      throw new ApiRequestError(405, `${method.slice(0, 16)} is not allowed on ${path.slice(0, 128)}`)
    }
    const session = this.#sessions.get(cookieOf(req, SESSION_COOKIE))
    if (session === undefined) throw new DashboardAuthError('no-session', 'sign in first: run cw gateway login and open the link it prints')
    await route.handler(req, res, session, (route.pattern.exec(sub) ?? []).slice(1))
    return true
  }

  #only(method: string, allowed: string[], path: string): void {
    if (!allowed.includes(method)) throw new ApiRequestError(405, `${method.slice(0, 16)} is not allowed on ${path.slice(0, 128)}`)
  }

  #cookie(value: string, maxAge: number): string {
    return `${SESSION_COOKIE}=${value}; Path=${DASHBOARD_PATH}; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${this.#c.secure ? '; Secure' : ''}`
  }

  async #signIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = sessionBody.safeParse(await readJson(req))
    if (!parsed.success) throw badInput(parsed.error)
    const now = this.#c.now()
    const token = await checkLoginToken(parsed.data.token, { gateway: this.#c.gateway, fleet: this.#c.fleet.fleet, operators: this.#c.operators, now })
    if (!this.#sessions.useNonce(token.nonce, token.expires)) throw new DashboardAuthError('used', 'this sign-in link was used already: run cw gateway login again')
    const { id, session } = this.#sessions.create(token.operator)
    this.#log.info({ operator: token.operator }, 'operator signed in')
    res.setHeader('set-cookie', this.#cookie(id, SESSION_TTL_SECONDS))
    json(res, 200, { operator: session.operator, expires: session.expires })
  }

  async #health(): Promise<unknown> {
    const status = await this.#c.status()
    const metrics = await this.#c.metrics.getMetricsAsJSON()
    return {
      now: this.#c.now(),
      gateway: this.#c.gateway,
      state: status.state,
      round: status.round,
      model: status.model,
      mesh: status.mesh,
      updates: status.updates,
      ingestPerMinute: this.#c.activity.ingestRate(),
      inferencePerMinute: this.#c.activity.inferenceRate(),
      settlementOutbox: await this.#views.settlementOutbox(),
      chain: { chainId: this.#c.fleet.chain.chainId, ...(await this.#views.chainProbe()) },
      keyStore: this.#c.keyStoreKind,
      schedule: status.schedule,
      lastError: status.lastError,
      metrics: metrics.map((m) => ({ name: m.name, help: m.help, type: String(m.type), values: m.values.slice(0, 64).map((v) => ({ labels: v.labels, value: v.value })) })),
    }
  }

  async #events(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#streams.size >= MAX_EVENT_STREAMS) throw new ApiRequestError(503, `more than ${MAX_EVENT_STREAMS} live streams are open`)
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(`retry: 2000\nevent: change\ndata: ${JSON.stringify({ seq: this.#seq })}\n\n`)
    this.#streams.add(res)
    req.socket.setTimeout(0)
    res.once('close', () => this.#streams.delete(res))
  }

  #schedulePush(): void {
    if (this.#pending !== undefined) return
    this.#pending = setTimeout(() => {
      this.#pending = undefined
      this.#seq++
      for (const res of this.#streams) res.write(`event: change\ndata: ${JSON.stringify({ seq: this.#seq })}\n\n`)
    }, EVENT_COALESCE_MS)
  }
}

export function createDashboard(components: DashboardComponents): Dashboard {
  return new Dashboard(components)
}
