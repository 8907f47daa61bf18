// Every round of a gateway's store as `cw gateway status` shows it: the daemon's view while it
// runs, and the offline view read from its data directory when it does not.
import type { Hex } from 'viem'
import type { RoundMeta, RoundStore } from '../rounds/index.js'
import type { RoundSummary } from './gateway-daemon.js'

/** Rounds 1 … current, oldest first; `accuracyOf` gives a model's kept validation score, if any. */
export async function roundSummaries(store: RoundStore, current: RoundMeta | undefined, accuracyOf: (model: Hex) => Promise<number | undefined> | undefined): Promise<RoundSummary[]> {
  const rounds: RoundSummary[] = []
  if (current === undefined) return rounds
  for (let n = 1n; n <= BigInt(current.round); n++) {
    const m = await store.get(n)
    if (m === undefined) continue
    const accuracy = m.result === undefined ? undefined : await accuracyOf(m.result.newModel)
    rounds.push({
      round: Number(m.round),
      state: m.state,
      participants: m.participants.length,
      accepted: m.accepted,
      baseModel: m.baseModel,
      newModel: m.result?.newModel ?? null,
      keptParent: m.result?.keptParent ?? null,
      accuracy: accuracy ?? null,
      recordHash: m.result?.recordHash ?? null,
      settlement: m.settlement?.status ?? null,
      settlementTx: (m.settlement?.transactionHash as Hex | undefined) ?? null,
      deadline: m.deadline,
    })
  }
  return rounds
}
