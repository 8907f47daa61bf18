// The persisted state of a gateway's rounds, in level. Every state change is one atomic batch,
// so after a crash the store holds exactly the state before or after a change, never half of it.
//   rounds   <round, 20 digits>        → RoundMeta (JSON)
//   updates  <round>!<device, lower>   → the accepted UpdateSubmission bytes
//   seen     <attestationHash>         → <round>!<device>   (replay index)
//   models   <sha256>                  → model bytes
//   pointer  current                   → <round>
import type { AbstractLevel, AbstractSublevel } from 'abstract-level'
import { getAddress, type Address, type Hex } from 'viem'
import { SerialQueue } from '../../hardware/serial-queue.js'
import { RoundStateError } from '../errors.js'
import { NEXT_STATE, ROUND_KEY_DIGITS, type RoundState } from './constants.js'
import type { RoundConfig } from './round-config.js'

type Db = AbstractLevel<string | Uint8Array | Buffer, string, unknown>
type Sub<V> = AbstractSublevel<Db, string | Uint8Array | Buffer, string, V>

export interface RoundResult {
  newModel: Hex
  /** Devices whose updates went into the new model, ascending. */
  used: Address[]
  /** True when evaluation kept the parent model: `newModel` is then the round's base model. */
  keptParent: boolean
  /** The validation scores behind `keptParent`, when the runner has an `evaluate` hook. */
  evaluation?: RoundEvaluation
  /** Hash of the server optimiser state carried to the next round, if any. */
  stateHash?: Hex
  /** sha256 of the canonical round record, kept in the model store. */
  recordHash: Hex
  contributionsRoot: Hex
  /** Decimal uint256. */
  rewardTotal: string
}

export interface RoundEvaluation {
  /** The parent (base) model's score and the aggregate's, higher is better. */
  parentScore: number
  newScore: number
  /** The margin in force: the parent is kept when newScore < parentScore − margin. */
  margin: number
}

export interface RoundMeta {
  round: string
  state: RoundState
  config: RoundConfig
  baseModel: Hex
  /** Unix seconds. */
  announcedAt: number
  deadline: number
  participants: Address[]
  /** The signed announcement, JSON-safe (bigints as decimal strings). */
  announcement: { message: Record<string, string>; signature: Hex }
  accepted: number
  result?: RoundResult
  settlement?: Record<string, string>
}

export const roundKey = (round: bigint): string => round.toString().padStart(ROUND_KEY_DIGITS, '0')
const updateKey = (round: bigint, device: Address): string => `${roundKey(round)}!${device.toLowerCase()}`

export class RoundStore {
  readonly db: Db
  readonly #rounds: Sub<RoundMeta>
  readonly #updates: Sub<Uint8Array>
  readonly #seen: Sub<string>
  readonly #models: Sub<Uint8Array>
  readonly #pointer: Sub<string>
  /** Writes are serialised so that each check-then-write is atomic within this process. */
  readonly #queue = new SerialQueue()

  constructor(db: Db) {
    this.db = db
    this.#rounds = db.sublevel<string, RoundMeta>('rounds', { valueEncoding: 'json' })
    this.#updates = db.sublevel<string, Uint8Array>('updates', { valueEncoding: 'view' })
    this.#seen = db.sublevel<string, string>('seen', { valueEncoding: 'utf8' })
    this.#models = db.sublevel<string, Uint8Array>('models', { valueEncoding: 'view' })
    this.#pointer = db.sublevel<string, string>('pointer', { valueEncoding: 'utf8' })
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    return this.#queue.run(work)
  }

  async get(round: bigint): Promise<RoundMeta | undefined> {
    return this.#rounds.get(roundKey(round))
  }

  async current(): Promise<RoundMeta | undefined> {
    const key = await this.#pointer.get('current')
    return key === undefined ? undefined : this.#rounds.get(key)
  }

  async model(hash: Hex): Promise<Uint8Array | undefined> {
    return this.#models.get(hash.toLowerCase())
  }

  async putModel(hash: Hex, bytes: Uint8Array): Promise<void> {
    await this.#models.put(hash.toLowerCase(), bytes)
  }

  /** Opens a round: its meta (state `open`) and the current pointer, in one batch. */
  open(meta: Omit<RoundMeta, 'state' | 'accepted'>): Promise<RoundMeta> {
    return this.#serial(async () => {
      const round = BigInt(meta.round)
      const current = await this.current()
      if (current !== undefined && current.state !== 'done') throw new RoundStateError(BigInt(current.round), current.state, 'the current round has not finished')
      if (current !== undefined && BigInt(current.round) >= round) throw new RoundStateError(round, undefined, `round numbers must increase (last: ${current.round})`)
      const full: RoundMeta = { ...meta, state: 'open', accepted: 0 }
      await this.db.batch([
        { type: 'put', sublevel: this.#rounds, key: roundKey(round), value: full },
        { type: 'put', sublevel: this.#pointer, key: 'current', value: roundKey(round) },
      ])
      return full
    })
  }

  /**
   * Moves a round from `from` to the next state, writing `changes` to its meta and the extra
   * model blobs in the same batch. Refuses any other move.
   */
  transition(round: bigint, from: RoundState, changes: Partial<Pick<RoundMeta, 'result' | 'settlement'>> = {}, models: readonly [Hex, Uint8Array][] = []): Promise<RoundMeta> {
    return this.#serial(async () => {
      const meta = await this.get(round)
      if (meta === undefined) throw new RoundStateError(round, undefined, 'no such round')
      const to = NEXT_STATE[from]
      if (meta.state !== from || to === undefined) throw new RoundStateError(round, meta.state, `cannot move from ${from}`)
      const next: RoundMeta = { ...meta, ...changes, state: to }
      await this.db.batch([
        ...models.map(([hash, bytes]) => ({ type: 'put' as const, sublevel: this.#models, key: hash.toLowerCase(), value: bytes })),
        { type: 'put', sublevel: this.#rounds, key: roundKey(round), value: next },
      ])
      return next
    })
  }

  /**
   * Keeps an accepted update: the submission, the replay index and the count, in one batch.
   * Returns false, writing nothing, for an attestation already kept or a device that already
   * contributed to this round; throws when the round is not collecting.
   */
  putUpdate(round: bigint, device: Address, attestationHash: Hex, submission: Uint8Array): Promise<boolean> {
    return this.#serial(async () => {
      const meta = await this.get(round)
      if (meta === undefined || meta.state !== 'collecting') throw new RoundStateError(round, meta?.state, 'the round takes no updates')
      const key = updateKey(round, getAddress(device))
      if ((await this.#seen.get(attestationHash.toLowerCase())) !== undefined) return false
      if ((await this.#updates.get(key)) !== undefined) return false
      await this.db.batch([
        { type: 'put', sublevel: this.#updates, key, value: submission },
        { type: 'put', sublevel: this.#seen, key: attestationHash.toLowerCase(), value: key },
        { type: 'put', sublevel: this.#rounds, key: roundKey(round), value: { ...meta, accepted: meta.accepted + 1 } },
      ])
      return true
    })
  }

  async seen(attestationHash: Hex): Promise<boolean> {
    return (await this.#seen.get(attestationHash.toLowerCase())) !== undefined
  }

  /** The round's accepted submissions in ascending device order: the aggregation order. */
  async *updates(round: bigint): AsyncGenerator<Uint8Array> {
    const prefix = `${roundKey(round)}!`
    yield* this.#updates.values({ gt: prefix, lt: `${prefix}~` })
  }
}

/** The model in force given the current round: a finished round's new model, else the base of the round under way, else the initial model. */
export function lastSettledModel(current: RoundMeta | undefined, initial: Hex): Hex {
  if (current === undefined) return initial
  return current.state === 'done' && current.result !== undefined ? current.result.newModel : current.baseModel
}
