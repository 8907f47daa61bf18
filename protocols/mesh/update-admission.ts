// Admission of update streams across all peers, in two phases. An unverified stream (its header
// is being read or checked) takes one of `maxUnverified` slots; when they are all taken one is
// evicted for the newcomer: the oldest that has sent nothing yet, else the oldest. So peers that
// open streams and stay silent cannot keep a device out, and a stream that is speaking is not cut
// off for a silent one. A peer that proved its identity on an earlier stream (`known`) takes one of
// `maxKnown` slots of its own, which unknown peers cannot evict. A verified stream takes one of
// `maxVerified` slots and reserves its frame's bytes out of `maxBufferedBytes` before a byte of its
// update is read; a peer that finds either exhausted is told to retry later (CW_MESH_BUSY). One
// instance per handler, never module-level.
import { InvalidArgumentError } from '../errors.js'

export interface UpdateAdmissionInit {
  maxUnverified: number
  /** Unverified streams of known peers, apart from the others (default: maxUnverified). */
  maxKnown?: number
  maxVerified: number
  maxBufferedBytes: number
}

export interface AdmissionTicket {
  readonly id: number
  phase: 'unverified' | 'verified' | 'released'
  /** Whether it holds a slot of the known peers' pool. */
  known: boolean
  /** Whether any byte has arrived on it. */
  speaking: boolean
  /** Bytes reserved once verified. */
  bytes: number
}

export interface AdmissionStats {
  /** Unverified streams, both pools. */
  unverified: number
  /** Of which in the known peers' pool. */
  known: number
  verified: number
  bufferedBytes: number
  /** Unverified streams cut off for newcomers since the start. */
  evicted: number
}

/** Why a stream could not move on. */
export type AdmissionLimit = 'streams' | 'bytes'

interface Slot {
  ticket: AdmissionTicket
  evict: () => void
}

export class UpdateAdmission {
  readonly maxUnverified: number
  readonly maxKnown: number
  readonly maxVerified: number
  readonly maxBufferedBytes: number
  /** Insertion order is age: the first entry is the oldest unverified stream. */
  readonly #unverified = new Map<number, Slot>()
  readonly #known = new Map<number, Slot>()
  #verified = 0
  #bytes = 0
  #next = 0
  #evicted = 0

  constructor(init: UpdateAdmissionInit) {
    const maxKnown = init.maxKnown ?? init.maxUnverified
    for (const [field, value] of [['maxUnverified', init.maxUnverified], ['maxKnown', maxKnown], ['maxVerified', init.maxVerified], ['maxBufferedBytes', init.maxBufferedBytes]] as const)
      if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(field, 'must be a positive integer')
    this.maxUnverified = init.maxUnverified
    this.maxKnown = maxKnown
    this.maxVerified = init.maxVerified
    this.maxBufferedBytes = init.maxBufferedBytes
  }

  /**
   * Admits a new unverified stream. A known peer's goes to its own pool while there is room;
   * otherwise, when every slot is taken, the oldest silent stream (else the oldest) is evicted by
   * calling its `evict`.
   */
  enter(evict: () => void, options: { known?: boolean } = {}): AdmissionTicket {
    const ticket: AdmissionTicket = { id: this.#next++, phase: 'unverified', known: false, speaking: false, bytes: 0 }
    if (options.known === true && this.#known.size < this.maxKnown) {
      ticket.known = true
      this.#known.set(ticket.id, { ticket, evict })
      return ticket
    }
    if (this.#unverified.size >= this.maxUnverified) {
      let victim: Slot | undefined
      for (const slot of this.#unverified.values())
        if (!slot.ticket.speaking) {
          victim = slot
          break
        }
      victim ??= this.#unverified.values().next().value as Slot
      this.#unverified.delete(victim.ticket.id)
      this.#evicted++
      victim.evict()
    }
    this.#unverified.set(ticket.id, { ticket, evict })
    return ticket
  }

  /** Marks a stream on which bytes have arrived: a silent newcomer no longer evicts it first. */
  speak(ticket: AdmissionTicket): void {
    ticket.speaking = true
  }

  /** Moves a stream whose peer is verified to a verified slot; 'streams' when none is free (or the ticket was evicted). */
  verify(ticket: AdmissionTicket): AdmissionLimit | undefined {
    const pool = ticket.known ? this.#known : this.#unverified
    if (ticket.phase !== 'unverified' || !pool.has(ticket.id)) return 'streams'
    if (this.#verified >= this.maxVerified) return 'streams'
    pool.delete(ticket.id)
    ticket.phase = 'verified'
    this.#verified++
    return undefined
  }

  /** Reserves `bytes` more for a verified stream; 'bytes' when they are not free. */
  reserve(ticket: AdmissionTicket, bytes: number): AdmissionLimit | undefined {
    if (ticket.phase !== 'verified') throw new InvalidArgumentError('ticket', 'only a verified stream reserves bytes')
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new InvalidArgumentError('bytes', 'must be a non-negative integer')
    if (bytes > this.maxBufferedBytes - this.#bytes) return 'bytes'
    ticket.bytes += bytes
    this.#bytes += bytes
    return undefined
  }

  release(ticket: AdmissionTicket): void {
    if (ticket.phase === 'unverified') (ticket.known ? this.#known : this.#unverified).delete(ticket.id)
    else if (ticket.phase === 'verified') {
      this.#verified--
      this.#bytes -= ticket.bytes
    }
    ticket.phase = 'released'
    ticket.bytes = 0
  }

  stats(): AdmissionStats {
    return { unverified: this.#unverified.size + this.#known.size, known: this.#known.size, verified: this.#verified, bufferedBytes: this.#bytes, evicted: this.#evicted }
  }
}
