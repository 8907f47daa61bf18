// The gateway's HTTP API, on a loopback address only (it has no authentication):
//   GET  /status   → the daemon's status (JSON)
//   POST /rounds   → starts the next round now; 409 while one runs
//   GET  /metrics  → Prometheus text format
// Request bodies are capped; every error is JSON `{ "error": { "code", "message" } }`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { BaseError } from '../../protocols/index.js'
import { ApiRequestError } from '../errors.js'
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
}

const json = (res: ServerResponse, status: number, value: unknown): void => {
  const body = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(`${body}\n`)
}

/** The body, refused past `max` bytes before it is buffered whole. */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
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
    const route = routes[path]
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

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof ApiRequestError ? (err.details.status as number) : err instanceof BaseError ? (STATUS_OF[err.code] ?? 500) : 500
      if (status >= 500) log.error({ err, path: req.url, method: req.method }, 'API request failed')
      else log.info({ code: (err as BaseError).code, path: req.url, method: req.method, status }, 'API request refused')
      if (res.headersSent) {
        res.destroy()
        return
      }
      const code = err instanceof BaseError ? err.code : 'CW_ERROR'
      const message = err instanceof Error ? err.message : String(err)
      // A refused upload is not read further: the connection ends with the answer.
      if (status === 413) res.setHeader('connection', 'close')
      json(res, status, { error: { code, message } })
    })
  })
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
  log.info({ host, port }, 'API listening')
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
