// The gateway's HTTP API, on a loopback address unless TLS or an explicit flag says otherwise
// (gateway.json `api`); its own routes have no authentication:
//   GET  /status   → the daemon's status (JSON)
//   POST /rounds   → starts the next round now; 409 while one runs
//   GET  /metrics  → Prometheus text format
// Paths it does not know go to the `fallback` handler (the dashboard) before they are a 404.
// Request bodies are capped; every error is JSON `{ "error": { "code", "message" } }`.
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { BaseError } from '../../protocols/index.js'
import { ApiRequestError } from '../errors.js'
import { isLoopbackHost } from './config.js'
import { API_MAX_BODY_BYTES, API_REQUEST_TIMEOUT_MS } from './constants.js'

export interface GatewayApiHandlers {
  status(): Promise<unknown>
  startRound(): Promise<unknown>
  metrics(): Promise<{ contentType: string; body: string }>
}

export interface StartHttpApiParameters {
  host: string
  port: number
  handlers: GatewayApiHandlers
  logger: Logger
  maxBodyBytes?: number
  /** Serve HTTPS with this PEM certificate and key (files). */
  tls?: { cert: string; key: string }
  /** Answers a request no route of the API takes; resolves false when it does not take it either. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>
}

export interface HttpApi {
  /** http://host:port, with the port actually bound. */
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

/** HTTP status of each typed error the handlers throw; any other error is a 500. */
const STATUS_OF: Readonly<Record<string, number>> = {
  CW_ROUND_RUNNING: 409,
  CW_NO_ELIGIBLE_DEVICES: 409,
  CW_ROUND_STATE: 409,
  CW_DASHBOARD_AUTH: 401,
}

export const json = (res: ServerResponse, status: number, value: unknown): void => {
  const body = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(`${body}\n`)
}

/** The body, refused past `max` bytes before it is buffered whole. */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (!Number.isFinite(declared) || declared > max) throw new ApiRequestError(413, `request body over ${max} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > max) throw new ApiRequestError(413, `request body over ${max} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/** POST /rounds takes no parameters: an empty body or an empty JSON object. */
function checkEmptyObject(body: Buffer): void {
  const text = body.toString('utf8').trim()
  if (text === '') return
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ApiRequestError(400, 'the body is not JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ApiRequestError(400, 'the body must be a JSON object')
  const [key] = Object.keys(value)
  if (key !== undefined) throw new ApiRequestError(400, `${key.slice(0, 64)}: unknown field`, { details: { field: key.slice(0, 64) } })
}

export async function startHttpApi(parameters: StartHttpApiParameters): Promise<HttpApi> {
  const { handlers, host } = parameters
  const max = parameters.maxBodyBytes ?? API_MAX_BODY_BYTES
  const log = parameters.logger.child({ component: 'gateway:api' })

  const routes: Record<string, Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>> = {
    '/status': {
      GET: async (_req, res) => json(res, 200, await handlers.status()),
    },
    '/rounds': {
      POST: async (req, res) => {
        checkEmptyObject(await readBody(req, max))
        json(res, 201, await handlers.startRound())
      },
    },
    '/metrics': {
      GET: async (_req, res) => {
        const { contentType, body } = await handlers.metrics()
        res.writeHead(200, { 'content-type': contentType })
        res.end(body)
      },
    },
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined
    if (route === undefined && parameters.fallback !== undefined && (await parameters.fallback(req, res))) return
    if (route === undefined) throw new ApiRequestError(404, `no such path ${path.slice(0, 128)}`)
    const method = route[req.method ?? '']
    if (method === undefined) {
      res.setHeader('allow', Object.keys(route).join(', '))
      throw new ApiRequestError(405, `${req.method ?? '?'} is not allowed on ${path}`)
    }
    // Bodies of methods that take none are not read; drain them so the connection can be reused.
    if (req.method === 'GET') req.resume()
    await method(req, res)
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof ApiRequestError ? (err.details.status as number) : err instanceof BaseError ? (STATUS_OF[err.code] ?? 500) : 500
      // The path only: a query string may carry something that is not for the log.
      const path = new URL(req.url ?? '/', 'http://localhost').pathname.slice(0, 256)
      if (status >= 500) log.error({ err, path, method: req.method }, 'API request failed')
      else log.info({ code: (err as BaseError).code, path, method: req.method, status }, 'API request refused')
      if (res.headersSent) {
        res.destroy()
        return
      }
      const code = err instanceof BaseError ? err.code : 'CW_ERROR'
      const message = err instanceof Error ? err.message : String(err)
      // A refused upload is not read further: the connection ends with the answer.
      if (status === 413) res.setHeader('connection', 'close')
      const field = err instanceof BaseError && typeof err.details.field === 'string' ? err.details.field : undefined
      json(res, status, { error: { code, message, ...(field === undefined ? {} : { field }) } })
    })
  }
  const tls = parameters.tls === undefined ? undefined : { cert: await readFile(parameters.tls.cert), key: await readFile(parameters.tls.key) }
  const server = tls === undefined ? createServer(onRequest) : createHttpsServer(tls, onRequest)
  server.requestTimeout = API_REQUEST_TIMEOUT_MS
  server.headersTimeout = API_REQUEST_TIMEOUT_MS
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(parameters.port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const urlHost = host.includes(':') ? `[${host}]` : host
  const scheme = tls === undefined ? 'http' : 'https'
  log.info({ host, port, tls: tls !== undefined }, 'API listening')
  if (!isLoopbackHost(host)) {
    if (tls === undefined) log.warn({ host, port }, 'the API and dashboard listen on a non-loopback address WITHOUT TLS (api.allowInsecureRemote): sign-in links and session cookies cross the network in the clear')
    else log.warn({ host, port }, 'the API and dashboard listen on a non-loopback address, over TLS; /status, /rounds and /metrics have no authentication')
  }
  return {
    url: `${scheme}://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
