// Admission of update streams across all peers, in two phases. An unverified stream (its header
// is being read or checked) takes one of `maxUnverified` slots; when they are all taken the
// oldest is evicted for the newcomer, so peers that open streams and stay silent cannot keep an
// enrolled device out. A verified stream takes one of `maxVerified` slots and reserves its frame's
// bytes out of `maxBufferedBytes` before a byte of its update is read; a peer that finds either
// exhausted is told to retry later (CW_MESH_BUSY). One instance per handler, never module-level.
import { InvalidArgumentError } from '../errors.js'

export interface UpdateAdmissionInit {
  maxUnverified: number
  maxVerified: number
  maxBufferedBytes: number
}

export interface AdmissionTicket {
  readonly id: number
  phase: 'unverified' | 'verified' | 'released'
  /** Bytes reserved once verified. */
  bytes: number
}

export interface AdmissionStats {
  unverified: number
  verified: number
  bufferedBytes: number
  /** Unverified streams cut off for newcomers since the start. */
  evicted: number
}

/** Why a stream could not move on. */
export type AdmissionLimit = 'streams' | 'bytes'

export class UpdateAdmission {
  readonly maxUnverified: number
  readonly maxVerified: number
  readonly maxBufferedBytes: number
  /** Insertion order is age: the first entry is the oldest unverified stream. */
  readonly #unverified = new Map<number, () => void>()
  #verified = 0
  #bytes = 0
  #next = 0
  #evicted = 0

  constructor(init: UpdateAdmissionInit) {
    for (const field of ['maxUnverified', 'maxVerified', 'maxBufferedBytes'] as const)
      if (!Number.isSafeInteger(init[field]) || init[field] < 1) throw new InvalidArgumentError(field, 'must be a positive integer')
    this.maxUnverified = init.maxUnverified
    this.maxVerified = init.maxVerified
    this.maxBufferedBytes = init.maxBufferedBytes
  }

  /** Admits a new unverified stream, evicting the oldest one (by calling its `evict`) when all slots are taken. */
  enter(evict: () => void): AdmissionTicket {
    if (this.#unverified.size >= this.maxUnverified) {
      const [oldestId, evictOldest] = this.#unverified.entries().next().value as [number, () => void]
      this.#unverified.delete(oldestId)
      this.#evicted++
      evictOldest()
    }
    const ticket: AdmissionTicket = { id: this.#next++, phase: 'unverified', bytes: 0 }
    this.#unverified.set(ticket.id, evict)
    return ticket
  }

  /** Moves a stream whose peer is verified to a verified slot; 'streams' when none is free (or the ticket was evicted). */
  verify(ticket: AdmissionTicket): AdmissionLimit | undefined {
    if (ticket.phase !== 'unverified' || !this.#unverified.has(ticket.id)) return 'streams'
    if (this.#verified >= this.maxVerified) return 'streams'
    this.#unverified.delete(ticket.id)
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
    if (ticket.phase === 'unverified') this.#unverified.delete(ticket.id)
    else if (ticket.phase === 'verified') {
      this.#verified--
      this.#bytes -= ticket.bytes
    }
    ticket.phase = 'released'
    ticket.bytes = 0
  }

  stats(): AdmissionStats {
    return { unverified: this.#unverified.size, verified: this.#verified, bufferedBytes: this.#bytes, evicted: this.#evicted }
  }
}
