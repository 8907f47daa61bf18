// Runs one honest round (FedAdam, 4 devices) on a fresh level store and returns its record and
// every blob an auditor needs, keyed by sha256.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import type { Hex } from 'viem'
import { decodeSubmission, strategyFor } from '../../protocols/index.js'
import { RoundRunner, RoundStore } from '../../gateway/rounds/index.js'
import { NOW, baseModel, devices, domain, fleet, gateway, owner, submissionOf } from '../gateway/rounds/fixtures/round-fleet.js'

export interface FinishedRound {
  round: bigint
  recordHash: Hex
  recordBytes: Uint8Array
  /** Parent and new model, optimiser state, record and updates, by lowercase sha256. */
  blobs: Map<string, Uint8Array>
}

export async function finishedRound(round = 1n): Promise<FinishedRound> {
  const dir = await mkdtemp(join(tmpdir(), 'cw-round-'))
  const db = new Level<string, unknown>(join(dir, 'db'))
  await db.open()
  try {
    const store = new RoundStore(db as never)
    const runner = new RoundRunner({ store, domain, fleet, gateway, owner: owner.address, rewardTotal: 10n ** 18n, strategy: (s) => strategyFor(s.name, s.params), announce: async () => undefined, now: () => NOW })
    await runner.start({ round, baseModel, config: { quorum: 4, strategy: { name: 'fedadam', params: { lr: 0.01 } } }, eligible: devices.map((d) => d.address) })
    const blobs = new Map<string, Uint8Array>()
    for (let i = 0; i < 4; i++) {
      const { bytes, device } = await submissionOf(i, round)
      const submission = decodeSubmission(bytes)
      blobs.set(submission.attestation.message.updateHash.toLowerCase(), submission.update)
      await runner.accept(round, device, `0x${(i + 1).toString(16).padStart(64, '0')}`, bytes)
    }
    const meta = await runner.finish(round)
    const result = meta.result
    if (result === undefined) throw new Error('the round has no result')
    for (const hash of [meta.baseModel, result.newModel, result.recordHash, result.stateHash]) {
      if (hash === undefined) continue
      const bytes = await store.model(hash)
      if (bytes !== undefined) blobs.set(hash.toLowerCase(), bytes)
    }
    const recordBytes = blobs.get(result.recordHash.toLowerCase())
    if (recordBytes === undefined) throw new Error('no record')
    return { round, recordHash: result.recordHash, recordBytes, blobs }
  } finally {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  }
}
