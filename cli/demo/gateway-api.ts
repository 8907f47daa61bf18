// The demo's view of its running gateway: the daemon's api.json (written once its API listens) and
// the API itself, through the same client `cw gateway status|round start` use.
import { setTimeout as sleep } from 'node:timers/promises'
import { callGatewayApi, readApiFile, type ApiFile, type GatewayStatus } from '../../gateway/daemon/index.js'
import { GatewayNotRunningError } from '../../gateway/errors.js'
import { ConfigError } from '../../protocols/index.js'

/** Waits for the gateway's api.json, failing early when the process has exited. */
export async function waitForApi(dataDir: string, options: { timeoutMs: number; exited: () => boolean }): Promise<ApiFile> {
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    if (options.exited()) throw new Error('the gateway exited before it was ready (see logs/gateway.log)')
    try {
      return await readApiFile(dataDir)
    } catch (err) {
      // Not written yet, or caught half-way through its atomic rename.
      if (!(err instanceof GatewayNotRunningError || err instanceof ConfigError)) throw err
    }
    if (Date.now() > deadline) throw new Error(`the gateway was not ready after ${Math.round(options.timeoutMs / 1000)} s (see logs/gateway.log)`)
    await sleep(200)
  }
}

export async function gatewayStatus(dataDir: string): Promise<GatewayStatus> {
  return (await callGatewayApi({ dataDir, method: 'GET', path: '/status' })) as GatewayStatus
}

/** Starts the next round; its number. */
export async function startRound(dataDir: string): Promise<number> {
  const started = (await callGatewayApi({ dataDir, method: 'POST', path: '/rounds' })) as { round: number }
  return started.round
}
