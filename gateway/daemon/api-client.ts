// The client side of the gateway's HTTP API, for `cw gateway round start|status` and the demo: it
// finds the running daemon through `<dataDir>/api.json` and turns error answers into typed errors.
import { join } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../../protocols/index.js'
import { readJsonConfig } from '../../hardware/index.js'
import { GatewayApiError, GatewayNotRunningError } from '../errors.js'
import { API_CLIENT_TIMEOUT_MS, API_FILE } from './constants.js'

/** `<dataDir>/api.json`, written by the daemon once its API listens. */
export const apiFileSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  pid: z.number().int().positive(),
  peerId: z.string().min(1).max(128),
  multiaddrs: z.array(z.string().max(512)).max(64),
})

export type ApiFile = z.infer<typeof apiFileSchema>

export async function readApiFile(dataDir: string): Promise<ApiFile> {
  const file = join(dataDir, API_FILE)
  try {
    return await readJsonConfig(file, (value) => {
      const parsed = apiFileSchema.safeParse(value)
      if (!parsed.success) throw new ConfigError(file, parsed.error.issues[0]?.path.join('.') ?? '', parsed.error.issues[0]?.message ?? 'invalid')
      return parsed.data
    })
  } catch (err) {
    if (err instanceof ConfigError && err.message.endsWith('does not exist')) throw new GatewayNotRunningError(dataDir, `${API_FILE} does not exist`, { cause: err })
    throw err
  }
}

export interface CallGatewayApiParameters {
  dataDir: string
  method: 'GET' | 'POST'
  path: '/status' | '/rounds' | '/metrics'
  signal?: AbortSignal
}

/** Calls the API of the daemon running for `dataDir` and returns its JSON answer. */
export async function callGatewayApi(parameters: CallGatewayApiParameters): Promise<unknown> {
  const { dataDir, method, path } = parameters
  const api = await readApiFile(dataDir)
  const timeout = AbortSignal.timeout(API_CLIENT_TIMEOUT_MS)
  const signal = parameters.signal === undefined ? timeout : AbortSignal.any([parameters.signal, timeout])
  let response: Response
  try {
    response = await fetch(new URL(path, api.url), { method, signal, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}) })
  } catch (err) {
    throw new GatewayNotRunningError(dataDir, `nothing answers at ${api.url} (${(err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message})`, { cause: err })
  }
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error
    throw new GatewayApiError(response.status, typeof error?.code === 'string' ? error.code : 'CW_ERROR', typeof error?.message === 'string' ? error.message : text.slice(0, 200))
  }
  if (body === undefined) throw new GatewayApiError(response.status, 'CW_ERROR', 'the answer is not JSON')
  return body
}
