// `cw gateway status` when no daemon answers: what the gateway's data directory says about its
// rounds and settlements, read without the key store, the mesh or the chain. The daemon holds its
// database's lock while it runs, so this view is only possible when it is down.
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Level } from 'level'
import type { Hex } from 'viem'
import { contentId } from '../../protocols/index.js'
import { readTransportKey } from '../../hardware/index.js'
import { GatewayNotRunningError } from '../errors.js'
import { lastSettledModel, RoundStore } from '../rounds/index.js'
import type { GatewayConfig } from './config.js'
import { DB_DIR, SCORES_SUBLEVEL } from './constants.js'
import type { RoundSummary } from './gateway-daemon.js'
import { loadInitialModel } from './initial-model.js'
import { roundSummaries } from './round-summaries.js'

/** The offline view: `running: false`, the model in force with its kept accuracy, every round. */
export interface OfflineGatewayStatus {
  running: false
  dataDir: string
  peerId: string | null
  /** `stopped`, or the state the current round was left in (a restart takes it up from there). */
  state: 'stopped' | RoundSummary['state']
  round: number | null
  model: { hash: Hex; accuracy: number | null }
  genesis: { model: Hex; accuracy: number | null }
  rounds: RoundSummary[]
}

type Db = ConstructorParameters<typeof RoundStore>[0]

export async function readOfflineGatewayStatus(config: Pick<GatewayConfig, 'dataDir' | 'file' | 'model'>): Promise<OfflineGatewayStatus> {
  const db = new Level<string, unknown>(join(config.dataDir, DB_DIR), { createIfMissing: false })
  try {
    await db.open()
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code
    const problem =
      code === 'LEVEL_LOCKED'
        ? 'its API does not answer and its database is locked by a gateway process (starting or stopping?)'
        : `no gateway has run with this data directory (${join(config.dataDir, DB_DIR)} does not open${code === undefined ? '' : `: ${code}`})`
    throw new GatewayNotRunningError(config.dataDir, problem, { cause: err })
  }
  try {
    const store = new RoundStore(db as unknown as Db)
    const scores = db.sublevel<string, number>(SCORES_SUBLEVEL, { valueEncoding: 'json' })
    const accuracy = async (model: Hex): Promise<number | null> => (await scores.get(model.toLowerCase())) ?? null
    const current = await store.current()
    const first = await store.get(1n)
    const initial = first?.baseModel ?? contentId(await loadInitialModel(config))
    const model = lastSettledModel(current, initial)
    const transportKey = await readTransportKey({ dir: config.dataDir })
    return {
      running: false,
      dataDir: config.dataDir,
      peerId: transportKey === undefined ? null : peerIdFromPrivateKey(transportKey).toString(),
      state: current === undefined || current.state === 'done' ? 'stopped' : current.state,
      round: current === undefined || current.state === 'done' ? null : Number(current.round),
      model: { hash: model, accuracy: await accuracy(model) },
      genesis: { model: initial, accuracy: await accuracy(initial) },
      rounds: await roundSummaries(store, current, async (m) => (await accuracy(m)) ?? undefined),
    }
  } finally {
    await db.close()
  }
}
