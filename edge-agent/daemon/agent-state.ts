// What the daemon must remember across restarts, in `<dataDir>/state.json` (written atomically on
// every change): the model it runs, the rounds it took part in, the inference sequence numbers it
// has used, and the models it keeps. A round found `training` at start was cut short by a crash.
import { readFile, rename } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { Hex } from 'viem'
import { z } from 'zod'
import { writeJsonConfig } from '../../hardware/bundle/index.js'
import { MAX_CACHED_MODELS, MAX_ROUND_ENTRIES } from './constants.js'

export const ROUND_STATUSES = ['fetching', 'training', 'trained', 'skipped', 'submitted', 'receipt-accepted', 'receipt-rejected', 'abandoned', 'failed'] as const
export type RoundStatus = (typeof ROUND_STATUSES)[number]

/** Rounds in these states are done with: a re-announcement does not start them again. */
export const FINAL_ROUND_STATUSES: ReadonlySet<RoundStatus> = new Set(['trained', 'submitted', 'receipt-accepted', 'receipt-rejected'])

const hash = z.string().regex(/^0x[0-9a-f]{64}$/)

const roundEntrySchema = z.strictObject({
  round: z.string().regex(/^\d{1,20}$/),
  status: z.enum(ROUND_STATUSES),
  reason: z.string().max(256).optional(),
  baseModel: hash.optional(),
  attestationHash: hash.optional(),
  samples: z.number().int().min(0).optional(),
  /** Unix ms of the last change. */
  at: z.number(),
})

const stateSchema = z.strictObject({
  version: z.literal(1),
  model: hash.nullable(),
  modelRound: z.string().regex(/^\d{1,20}$/).nullable(),
  rounds: z.array(roundEntrySchema).max(MAX_ROUND_ENTRIES),
  /** Inference sequence numbers below this may have been used. */
  sequence: z.number().int().min(0),
  /** Models kept in the cache besides the current one, oldest first. */
  cached: z.array(hash).max(MAX_CACHED_MODELS * 4),
  /** Finite sensors (a replay without loop) played to their end: not played again after a restart, so no sample is stored twice. */
  endedSensors: z.array(z.string().min(1).max(128)).max(64).default([]),
  /** Set by a gateway's signed `revoked` receipt: the device trains no more (it keeps inferring). */
  revoked: z.strictObject({ round: z.string().regex(/^\d{1,20}$/), at: z.number() }).nullable().default(null),
})

export type RoundEntry = z.infer<typeof roundEntrySchema> & { baseModel?: Hex; attestationHash?: Hex }
export type AgentStateData = Omit<z.infer<typeof stateSchema>, 'model' | 'cached' | 'rounds'> & { model: Hex | null; cached: Hex[]; rounds: RoundEntry[] }

const EMPTY: AgentStateData = { version: 1, model: null, modelRound: null, rounds: [], sequence: 0, cached: [], endedSensors: [], revoked: null }

export class AgentState {
  readonly file: string
  #data: AgentStateData
  #writing: Promise<void> = Promise.resolve()

  private constructor(file: string, data: AgentStateData) {
    this.file = file
    this.#data = data
  }

  /** Loads the state; a file that does not parse is moved aside (`.corrupt`) and the agent starts afresh. */
  static async open(file: string, logger: Logger): Promise<AgentState> {
    let text: string | undefined
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    if (text === undefined) return new AgentState(file, structuredClone(EMPTY))
    let parsed: AgentStateData | undefined
    try {
      const result = stateSchema.safeParse(JSON.parse(text))
      if (result.success) parsed = result.data as AgentStateData
    } catch {
      parsed = undefined
    }
    if (parsed === undefined) {
      const aside = `${file}.corrupt`
      await rename(file, aside)
      logger.warn({ file, movedTo: aside }, 'state file does not parse; starting afresh')
      return new AgentState(file, structuredClone(EMPTY))
    }
    // A round left in flight was cut short (a crash or a kill): nothing of it was signed.
    for (const entry of parsed.rounds)
      if (entry.status === 'training' || entry.status === 'fetching') Object.assign(entry, { status: 'abandoned', reason: 'restarted', at: Date.now() })
    return new AgentState(file, parsed)
  }

  get data(): Readonly<AgentStateData> {
    return this.#data
  }

  round(round: bigint): RoundEntry | undefined {
    return this.#data.rounds.find((r) => r.round === round.toString())
  }

  /** Changes the state and writes it; writes are serialised and each is atomic. */
  async update(change: (data: AgentStateData) => void): Promise<void> {
    change(this.#data)
    if (this.#data.rounds.length > MAX_ROUND_ENTRIES) this.#data.rounds.splice(0, this.#data.rounds.length - MAX_ROUND_ENTRIES)
    const snapshot = structuredClone(this.#data)
    const write = this.#writing.then(() => writeJsonConfig(this.file, snapshot))
    this.#writing = write.catch(() => undefined) // the caller of this update sees its own failure
    return write
  }

  /** Records a round's new status (creating its entry). */
  async setRound(round: bigint, status: RoundStatus, extra: Partial<Omit<RoundEntry, 'round' | 'status' | 'at'>> = {}): Promise<RoundEntry> {
    let entry: RoundEntry | undefined
    await this.update((data) => {
      const key = round.toString()
      const index = data.rounds.findIndex((r) => r.round === key)
      const previous = index < 0 ? undefined : data.rounds[index]
      const next: RoundEntry = { ...(previous ?? {}), ...extra, round: key, status, at: Date.now() }
      if (extra.reason === undefined && status !== 'skipped' && status !== 'receipt-rejected' && status !== 'failed') delete next.reason
      if (index < 0) data.rounds.push(next)
      else data.rounds[index] = next
      entry = next
    })
    return entry as RoundEntry
  }

  async flush(): Promise<void> {
    await this.#writing
  }
}
