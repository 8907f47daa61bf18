// Dashboard sessions: random ids in an HttpOnly, SameSite=Strict cookie, held in memory (a
// restart signs everyone out), each bound to the operator whose signed link opened it. Used
// sign-in nonces are remembered until their link would have expired anyway.
import { randomBytes } from 'node:crypto'
import type { Address } from 'viem'
import { MAX_SESSIONS, SESSION_TTL_SECONDS } from './constants.js'

export interface Session {
  operator: Address
  /** Unix seconds. */
  expires: number
}

export class SessionStore {
  readonly #sessions = new Map<string, Session>()
  readonly #nonces = new Map<string, number>()
  readonly #now: () => number

  constructor(now: () => number) {
    this.#now = now
  }

  /** Marks a nonce used; false when it was used before. */
  useNonce(nonce: string, expires: number): boolean {
    this.#prune()
    const key = nonce.toLowerCase()
    if (this.#nonces.has(key)) return false
    this.#nonces.set(key, expires)
    return true
  }

  create(operator: Address): { id: string; session: Session } {
    this.#prune()
    while (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next()
      if (oldest.done === true) break
      this.#sessions.delete(oldest.value)
    }
    const id = randomBytes(32).toString('base64url')
    const session = { operator, expires: this.#now() + SESSION_TTL_SECONDS }
    this.#sessions.set(id, session)
    return { id, session }
  }

  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined
    const session = this.#sessions.get(id)
    if (session === undefined) return undefined
    if (session.expires <= this.#now()) {
      this.#sessions.delete(id)
      return undefined
    }
    return session
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(id)
  }

  clear(): void {
    this.#sessions.clear()
    this.#nonces.clear()
  }

  #prune(): void {
    const now = this.#now()
    for (const [nonce, expires] of this.#nonces) if (expires <= now) this.#nonces.delete(nonce)
    for (const [id, s] of this.#sessions) if (s.expires <= now) this.#sessions.delete(id)
  }
}
