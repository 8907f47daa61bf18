// Serves the embedded EVM as a JSON-RPC endpoint over HTTP on 127.0.0.1, so that several
// processes on one machine (a gateway, agents, `cw rewards claim`, `cw audit`) share one chain
// without an external node: `cw chain serve` and the demo use it. Request bodies are capped and
// batches bounded; every request is answered with a JSON-RPC result or error object.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { InvalidArgumentError } from '../../protocols/index.js'
import type { EmbeddedChain } from './embedded-chain.js'

/** Large enough for a contract deployment's raw transaction, small enough to refuse abuse. */
export const CHAIN_RPC_MAX_BODY_BYTES = 2 * 1024 * 1024
export const CHAIN_RPC_MAX_BATCH = 100

export interface ServeChainParameters {
  chain: EmbeddedChain
  /** Loopback only by default; a real deployment runs a real node instead. */
  host?: string
  /** 0 picks a free port. */
  port?: number
  logger?: Logger
}

export interface ServedChain {
  /** http://host:port */
  readonly url: string
  close(): Promise<void>
}

interface RpcRequest {
  jsonrpc?: unknown
  id?: unknown
  method?: unknown
  params?: unknown
}

const rpcError = (id: unknown, code: number, message: string, data?: unknown): object => ({
  jsonrpc: '2.0',
  id: id ?? null,
  error: data === undefined ? { code, message } : { code, message, data },
})

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > CHAIN_RPC_MAX_BODY_BYTES) return undefined
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > CHAIN_RPC_MAX_BODY_BYTES) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

async function answer(chain: EmbeddedChain, request: RpcRequest): Promise<object> {
  const id = request.id
  if (typeof request !== 'object' || request === null || typeof request.method !== 'string' || request.method.length > 64)
    return rpcError(id, -32600, 'invalid request: expected { method, params }')
  if (request.params !== undefined && !Array.isArray(request.params)) return rpcError(id, -32602, 'params must be an array')
  try {
    const result = await chain.request(request.method, (request.params as unknown[] | undefined) ?? [])
    return { jsonrpc: '2.0', id: id ?? null, result: result ?? null }
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; data?: unknown }
    return rpcError(id, typeof e.code === 'number' ? e.code : -32603, typeof e.message === 'string' ? e.message : 'internal error', e.data)
  }
}

export async function serveChain(parameters: ServeChainParameters): Promise<ServedChain> {
  const { chain, host = '127.0.0.1', port = 0, logger } = parameters
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('port', 'expected an integer in 0..65535')
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.method !== 'POST') {
      send(405, rpcError(null, -32600, 'POST a JSON-RPC request'))
      return
    }
    void (async () => {
      const body = await readBody(req)
      if (body === undefined) {
        send(413, rpcError(null, -32600, `request body over ${CHAIN_RPC_MAX_BODY_BYTES} bytes`))
        req.destroy()
        return
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(body.toString('utf8'))
      } catch {
        send(400, rpcError(null, -32700, 'parse error'))
        return
      }
      if (Array.isArray(parsed)) {
        if (parsed.length === 0 || parsed.length > CHAIN_RPC_MAX_BATCH) {
          send(400, rpcError(null, -32600, `a batch holds 1 to ${CHAIN_RPC_MAX_BATCH} requests`))
          return
        }
        const out: object[] = []
        for (const r of parsed) out.push(await answer(chain, r as RpcRequest))
        send(200, out)
      } else send(200, await answer(chain, parsed as RpcRequest))
    })().catch((err: unknown) => {
      logger?.error({ err }, 'chain rpc request failed')
      if (!res.headersSent) send(500, rpcError(null, -32603, 'internal error'))
    })
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 60_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const url = `http://${host}:${address.port}`
  logger?.info({ url }, 'embedded chain served')
  return {
    url,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
