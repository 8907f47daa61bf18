// Counts a protocol handler's concurrent inbound streams, per peer and in total. One instance per
// handler (never module-level), so a stopped node lets go of its counts.
export interface StreamLimiterInit {
  maxPerPeer: number
  maxTotal: number
}

export class StreamLimiter {
  readonly #perPeer = new Map<string, number>()
  #total = 0
  readonly maxPerPeer: number
  readonly maxTotal: number

  constructor(init: StreamLimiterInit) {
    this.maxPerPeer = init.maxPerPeer
    this.maxTotal = init.maxTotal
  }

  /** Takes a slot for `peer`, or returns false when the peer or the handler is at its limit. */
  acquire(peer: string): boolean {
    const held = this.#perPeer.get(peer) ?? 0
    if (held >= this.maxPerPeer || this.#total >= this.maxTotal) return false
    this.#perPeer.set(peer, held + 1)
    this.#total++
    return true
  }

  release(peer: string): void {
    const held = this.#perPeer.get(peer) ?? 0
    if (held <= 0) return
    if (held === 1) this.#perPeer.delete(peer)
    else this.#perPeer.set(peer, held - 1)
    this.#total--
  }

  get active(): number {
    return this.#total
  }
}
