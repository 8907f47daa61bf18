// The device's outbox: every signed update submission waits here, in a level database, until a
// gateway's valid signed Receipt for it comes back. At-least-once: entries are keyed by their
// attestation hash, so a resend is idempotent at the gateway; they survive restarts (each write
// is an fsynced atomic batch); failed deliveries retry with jittered exponential backoff.
// Bounded in bytes: when full, new entries are refused (OutboxFullError) and nothing signed is
// ever dropped. A `rejected` receipt moves its entry to the dead-letter list with the reason.
import { Level } from 'level'
import type { Logger } from 'pino'
import { bytesToHex, isAddressEqual, type Address, type Hex } from 'viem'
import {
  decodeSubmission,
  encodeSigned,
  encodeSubmission,
  hashMessage,
  verifyReceipt,
  type FleetDomain,
  type Signed,
  type UpdateSubmission,
} from '../../protocols/index.js'
import { BaseError, InvalidArgumentError } from '../../protocols/errors.js'
import { OutboxClosedError, OutboxFullError } from '../errors.js'
import { backoffDelay } from './backoff.js'
import { OUTBOX_BACKOFF_BASE_MS, OUTBOX_BACKOFF_MAX_MS, OUTBOX_CONCURRENCY, OUTBOX_MAX_BYTES } from './constants.js'

/** Delivers one encoded submission and resolves to the gateway's receipt; throws when it cannot. */
export type OutboxSend = (submission: Uint8Array, options: { signal: AbortSignal }) => Promise<Signed<'Receipt'>>

export interface OpenOutboxParameters {
  /** Directory of the outbox's level database. */
  location: string
  domain: FleetDomain
  /** Gateways whose receipts complete an entry. */
  gateways: readonly Address[]
  send: OutboxSend
  logger: Logger
  maxBytes?: number
  backoffBaseMs?: number
  backoffMaxMs?: number
  concurrency?: number
  random?: () => number
}

export interface OutboxEntry {
  attestationHash: Hex
  device: Address
  round: string
  size: number
  attempts: number
  /** Unix milliseconds. */
  nextAttemptAt: number
  enqueuedAt: number
  lastError?: string
}

export interface DeadLetter extends OutboxEntry {
  /** The reason code of the gateway's rejected receipt. */
  reason: string
  /** The rejected receipt, encoded (protocols/wire), as proof of the rejection. */
  receipt: Hex
  deadAt: number
}

export interface OutboxEvents {
  delivered: CustomEvent<{ entry: OutboxEntry; receipt: Signed<'Receipt'> }>
  'dead-letter': CustomEvent<{ entry: DeadLetter; receipt: Signed<'Receipt'> }>
  retry: CustomEvent<{ entry: OutboxEntry; error: unknown; delayMs: number }>
}

type Db = Level<string, unknown>
const SYNC = { sync: true } as const

export class Outbox extends EventTarget {
  readonly #db: Db
  readonly #bodies
  readonly #pendingDb
  readonly #deadDb
  readonly #p: Required<Omit<OpenOutboxParameters, 'random' | 'location'>> & { random: () => number }
  readonly #log: Logger
  readonly #pending = new Map<Hex, OutboxEntry>()
  readonly #dead = new Set<Hex>()
  readonly #reserved = new Set<Hex>()
  readonly #inFlight = new Map<Hex, Promise<void>>()
  #bytes = 0
  #timer: NodeJS.Timeout | undefined
  #running = false
  #closed = false
  #abort = new AbortController()

  private constructor(db: Db, parameters: OpenOutboxParameters) {
    super()
    this.#db = db
    this.#bodies = db.sublevel<string, Uint8Array>('body', { valueEncoding: 'view' })
    this.#pendingDb = db.sublevel<string, OutboxEntry>('pending', { valueEncoding: 'json' })
    this.#deadDb = db.sublevel<string, DeadLetter>('dead', { valueEncoding: 'json' })
    this.#p = {
      domain: parameters.domain,
      gateways: [...parameters.gateways],
      send: parameters.send,
      logger: parameters.logger,
      maxBytes: parameters.maxBytes ?? OUTBOX_MAX_BYTES,
      backoffBaseMs: parameters.backoffBaseMs ?? OUTBOX_BACKOFF_BASE_MS,
      backoffMaxMs: parameters.backoffMaxMs ?? OUTBOX_BACKOFF_MAX_MS,
      concurrency: parameters.concurrency ?? OUTBOX_CONCURRENCY,
      random: parameters.random ?? Math.random,
    }
    this.#log = parameters.logger.child({ component: 'agent:outbox' })
  }

  /** Opens (or creates) the outbox and loads what it held before a restart. Delivery starts with start(). */
  static async open(parameters: OpenOutboxParameters): Promise<Outbox> {
    for (const field of ['maxBytes', 'backoffBaseMs', 'backoffMaxMs', 'concurrency'] as const) {
      const value = parameters[field]
      if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) throw new InvalidArgumentError(field, 'expected a positive integer')
    }
    const db: Db = new Level<string, unknown>(parameters.location, { valueEncoding: 'json' })
    await db.open()
    const outbox = new Outbox(db, parameters)
    await outbox.#load()
    return outbox
  }

  async #load(): Promise<void> {
    for await (const [key, entry] of this.#pendingDb.iterator()) {
      this.#pending.set(key as Hex, entry)
      this.#bytes += entry.size
    }
    for await (const [key, entry] of this.#deadDb.iterator()) {
      this.#dead.add(key as Hex)
      this.#bytes += entry.size
    }
    this.#log.info({ pending: this.#pending.size, dead: this.#dead.size, bytes: this.#bytes }, 'outbox opened')
  }

  /** Bytes held, pending and dead-lettered: what counts against maxBytes. */
  get bytes(): number {
    return this.#bytes
  }

  get maxBytes(): number {
    return this.#p.maxBytes
  }

  /** Pending entries, oldest first. */
  pending(): OutboxEntry[] {
    return [...this.#pending.values()].sort((a, b) => a.enqueuedAt - b.enqueuedAt).map((e) => ({ ...e }))
  }

  async deadLetters(): Promise<DeadLetter[]> {
    const out: DeadLetter[] = []
    for await (const value of this.#deadDb.values()) out.push(value)
    return out
  }

  /**
   * Queues a signed submission. Resolves once it is on disk. Idempotent per attestation hash
   * (`added: false` for one already held). Throws OutboxFullError when it does not fit.
   */
  async enqueue(submission: UpdateSubmission | Uint8Array): Promise<{ attestationHash: Hex; added: boolean }> {
    if (this.#closed) throw new OutboxClosedError()
    const body = submission instanceof Uint8Array ? submission : encodeSubmission(submission)
    const { attestation } = decodeSubmission(body) // refuses what no gateway would accept
    const attestationHash = hashMessage('UpdateAttestation', this.#p.domain, attestation.message)
    if (this.#pending.has(attestationHash) || this.#dead.has(attestationHash) || this.#reserved.has(attestationHash))
      return { attestationHash, added: false }
    if (this.#bytes + body.length > this.#p.maxBytes) throw new OutboxFullError(body.length, this.#bytes, this.#p.maxBytes)
    // Reserve before the first await so that concurrent enqueues cannot overrun the budget.
    this.#bytes += body.length
    this.#reserved.add(attestationHash)
    const now = Date.now()
    const entry: OutboxEntry = {
      attestationHash,
      device: attestation.message.device,
      round: attestation.message.round.toString(),
      size: body.length,
      attempts: 0,
      nextAttemptAt: now,
      enqueuedAt: now,
    }
    try {
      await this.#db
        .batch()
        .put(attestationHash, body, { sublevel: this.#bodies })
        .put(attestationHash, entry, { sublevel: this.#pendingDb })
        .write(SYNC)
    } catch (err) {
      this.#bytes -= body.length
      throw err
    } finally {
      this.#reserved.delete(attestationHash)
    }
    this.#pending.set(attestationHash, entry)
    this.#log.debug({ attestationHash, size: body.length }, 'queued')
    this.#schedule()
    return { attestationHash, added: true }
  }

  /** Starts delivering: due entries now, the others when their backoff ends. */
  start(): void {
    if (this.#closed) throw new OutboxClosedError()
    if (this.#running) return
    this.#running = true
    this.#abort = new AbortController()
    this.#schedule()
  }

  /** Retries every pending entry now (e.g. when a gateway connects). */
  wake(): void {
    const now = Date.now()
    for (const entry of this.#pending.values()) entry.nextAttemptAt = Math.min(entry.nextAttemptAt, now)
    this.#schedule()
  }

  /** Stops delivering; deliveries in flight are aborted and stay pending. */
  async stop(): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#abort.abort(new OutboxClosedError())
    await Promise.allSettled([...this.#inFlight.values()])
  }

  async close(): Promise<void> {
    await this.stop()
    this.#closed = true
    await this.#db.close()
  }

  /** Removes a dead letter (an operator's decision): the only way signed data leaves unreceipted. */
  async removeDeadLetter(attestationHash: Hex): Promise<boolean> {
    const entry = await this.#deadDb.get(attestationHash)
    if (entry === undefined) return false
    await this.#db.batch(
      [
        { type: 'del', sublevel: this.#deadDb, key: attestationHash },
        { type: 'del', sublevel: this.#bodies, key: attestationHash },
      ],
      SYNC,
    )
    this.#dead.delete(attestationHash)
    this.#bytes -= entry.size
    return true
  }

  #schedule(): void {
    if (!this.#running) return
    clearTimeout(this.#timer)
    this.#timer = undefined
    const now = Date.now()
    const waiting = [...this.#pending.values()].filter((e) => !this.#inFlight.has(e.attestationHash)).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt)
    for (const entry of waiting) {
      if (this.#inFlight.size >= this.#p.concurrency || entry.nextAttemptAt > now) break
      const delivery = this.#deliver(entry).finally(() => {
        this.#inFlight.delete(entry.attestationHash)
        this.#schedule()
      })
      this.#inFlight.set(entry.attestationHash, delivery)
    }
    const next = waiting.find((e) => !this.#inFlight.has(e.attestationHash))
    if (next !== undefined && this.#inFlight.size < this.#p.concurrency) {
      this.#timer = setTimeout(() => this.#schedule(), Math.max(0, next.nextAttemptAt - now))
      this.#timer.unref()
    }
  }

  #checkReceipt(entry: OutboxEntry, receipt: Signed<'Receipt'>): boolean {
    const r = receipt.message
    return (
      this.#p.gateways.some((g) => isAddressEqual(g, r.gateway)) &&
      r.attestationHash.toLowerCase() === entry.attestationHash.toLowerCase() &&
      isAddressEqual(r.device, entry.device) &&
      verifyReceipt({ domain: this.#p.domain, message: r, signature: receipt.signature })
    )
  }

  async #deliver(entry: OutboxEntry): Promise<void> {
    const signal = this.#abort.signal
    let receipt: Signed<'Receipt'>
    try {
      const body = await this.#bodies.get(entry.attestationHash)
      if (body === undefined) throw new InvalidArgumentError('attestationHash', 'pending entry has no body')
      receipt = await this.#p.send(body, { signal })
      if (!this.#checkReceipt(entry, receipt)) throw new InvalidArgumentError('receipt', 'not a valid signed receipt for this entry')
    } catch (err) {
      if (!this.#running) return // stopping: the entry stays pending as it was
      entry.attempts++
      // A gateway at capacity (CW_MESH_BUSY) says when to come back: never sooner than that.
      const delayMs = Math.max(backoffDelay(entry.attempts, { baseMs: this.#p.backoffBaseMs, maxMs: this.#p.backoffMaxMs, random: this.#p.random }), retryAfterOf(err))
      entry.nextAttemptAt = Date.now() + delayMs
      entry.lastError = err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}`.slice(0, 256) : String(err)
      this.#log.debug({ attestationHash: entry.attestationHash, attempts: entry.attempts, delayMs, err: entry.lastError }, 'delivery failed')
      if (!this.#closed) await this.#pendingDb.put(entry.attestationHash, entry)
      this.dispatchEvent(new CustomEvent('retry', { detail: { entry: { ...entry }, error: err, delayMs } }))
      return
    }
    if (this.#closed) return
    if (receipt.message.accepted) {
      await this.#db.batch(
        [
          { type: 'del', sublevel: this.#pendingDb, key: entry.attestationHash },
          { type: 'del', sublevel: this.#bodies, key: entry.attestationHash },
        ],
        SYNC,
      )
      this.#pending.delete(entry.attestationHash)
      this.#bytes -= entry.size
      this.#log.debug({ attestationHash: entry.attestationHash }, 'delivered')
      this.dispatchEvent(new CustomEvent('delivered', { detail: { entry: { ...entry }, receipt } }))
    } else {
      const dead: DeadLetter = { ...entry, reason: receipt.message.reason, receipt: bytesToHex(encodeSigned('Receipt', receipt)), deadAt: Date.now() }
      await this.#db
        .batch()
        .del(entry.attestationHash, { sublevel: this.#pendingDb })
        .put(entry.attestationHash, dead, { sublevel: this.#deadDb })
        .write(SYNC)
      this.#pending.delete(entry.attestationHash)
      this.#dead.add(entry.attestationHash)
      this.#log.warn({ attestationHash: entry.attestationHash, reason: dead.reason }, 'rejected: dead-lettered')
      this.dispatchEvent(new CustomEvent('dead-letter', { detail: { entry: dead, receipt } }))
    }
  }
}

/** The wait a refusing gateway asked for (an error frame's `retryAfterMs`), capped at OUTBOX_BACKOFF_MAX_MS; 0 when none. */
export function retryAfterOf(err: unknown): number {
  if (!(err instanceof BaseError)) return 0
  const after = err.details.retryAfterMs
  return typeof after === 'number' && Number.isFinite(after) && after > 0 ? Math.min(after, OUTBOX_BACKOFF_MAX_MS) : 0
}
