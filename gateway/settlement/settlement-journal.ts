// Where a gateway notes a settlement transaction *before* sending it: the signed bytes, so that
// after a crash it re-sends exactly the same transaction (same nonce, same hash) instead of a new
// one. Backends: in memory (tests, the embedded demo) and a directory of JSON files (one per
// round, written atomically) in the gateway's data directory.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hash, Hex } from 'viem'
import { z } from 'zod'
import { SettlementConfigError } from '../errors.js'

export interface PendingSettlement {
  round: bigint
  hash: Hash
  /** The signed transaction, as sent with eth_sendRawTransaction. */
  raw: Hex
  nonce: number
}

export interface SettlementJournal {
  get(round: bigint): Promise<PendingSettlement | undefined>
  put(entry: PendingSettlement): Promise<void>
  delete(round: bigint): Promise<void>
}

export class MemorySettlementJournal implements SettlementJournal {
  readonly #entries = new Map<bigint, PendingSettlement>()
  async get(round: bigint) {
    const e = this.#entries.get(round)
    return e === undefined ? undefined : { ...e }
  }
  async put(entry: PendingSettlement) {
    this.#entries.set(entry.round, { ...entry })
  }
  async delete(round: bigint) {
    this.#entries.delete(round)
  }
}

const entrySchema = z.strictObject({
  round: z.string().regex(/^\d{1,20}$/),
  hash: z.string().regex(/^0x[0-9a-f]{64}$/),
  raw: z.string().regex(/^0x([0-9a-f]{2})+$/),
  nonce: z.number().int().min(0),
})

export class FileSettlementJournal implements SettlementJournal {
  readonly #directory: string

  constructor(directory: string) {
    this.#directory = directory
  }

  #file(round: bigint) {
    return join(this.#directory, `round-${round}.json`)
  }

  async get(round: bigint): Promise<PendingSettlement | undefined> {
    let text: string
    try {
      text = await readFile(this.#file(round), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new SettlementConfigError(`journal.round-${round}`, 'not JSON')
    }
    const parsed = entrySchema.safeParse(json)
    if (!parsed.success) throw new SettlementConfigError(`journal.round-${round}`, parsed.error.issues[0]?.message ?? 'malformed')
    const e = parsed.data
    return { round: BigInt(e.round), hash: e.hash as Hash, raw: e.raw as Hex, nonce: e.nonce }
  }

  async put(entry: PendingSettlement): Promise<void> {
    await mkdir(this.#directory, { recursive: true, mode: 0o700 })
    const file = this.#file(entry.round)
    const body = JSON.stringify({ round: entry.round.toString(), hash: entry.hash.toLowerCase(), raw: entry.raw.toLowerCase(), nonce: entry.nonce })
    // Written, synced, then renamed over: a crash leaves either the old entry or the new one.
    const handle = await open(`${file}.tmp`, 'w', 0o600)
    try {
      await handle.writeFile(body)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(`${file}.tmp`, file)
  }

  async delete(round: bigint): Promise<void> {
    await rm(this.#file(round), { force: true })
  }
}
