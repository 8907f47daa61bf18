// What the dashboard knows of each device beyond the chain: the certificate it last presented,
// when it was last heard from, its accepted and refused submissions (with reasons) and its signed
// inference attestations. It learns them by wrapping the gateway's update handler, admission hook
// and refusal callback, so that the daemon's own logic is untouched; and it keeps, per round, the
// time each phase began and the rejections by reason (persisted, so a restart loses neither).
import type { Logger } from 'pino'
import type { Address, Hex } from 'viem'
import { getAddress } from 'viem'
import type { InferenceAttestation, Signed } from '../../protocols/index.js'
import type { UpdateAdmit, UpdateDecision, UpdateHandler, UpdateRefusal, VerifiedHeader } from '../../protocols/mesh/index.js'
import { SerialQueue } from '../../hardware/serial-queue.js'
import type { RoundMeta } from '../rounds/index.js'
import { MAX_DEVICE_EVENTS, MAX_DEVICE_REJECTIONS, MAX_TRACKED_DEVICES, RATE_WINDOW_SECONDS } from './constants.js'

export interface DeviceRejection {
  /** Unix seconds. */
  time: number
  round: string | null
  reason: string
}

export interface DeviceFacts {
  device: Address
  peerId: string | null
  serial: string | null
  hardwareModel: string | null
  keyStorage: string | null
  /** Unix seconds of the last signed message from it (update or inference attestation), or null. */
  lastSeen: number | null
  /** Sample count of its last accepted update. */
  samples: number | null
  accepted: number
  rejections: DeviceRejection[]
  rejected: number
  /** The model named by its last inference attestation. */
  inferenceModel: Hex | null
  /** Inference attestations per minute over the last RATE_WINDOW_SECONDS. */
  inferenceRate: number
}

/** Per round: when each state was entered (Unix seconds), and rejections by reason. */
export interface RoundActivity {
  phases: Record<string, number>
  rejected: Record<string, number>
}

/** Where round activity persists: a level sublevel with JSON values fits. */
export interface RoundActivityStore {
  get(key: string): Promise<RoundActivity | undefined>
  put(key: string, value: RoundActivity): Promise<void>
}

interface Tracked {
  facts: Omit<DeviceFacts, 'inferenceRate' | 'rejections'>
  rejections: DeviceRejection[]
  inference: number[]
}

export interface DeviceActivityParameters {
  store: RoundActivityStore
  /** Unix seconds. */
  now: () => number
  logger: Logger
}

const emptyRound = (): RoundActivity => ({ phases: {}, rejected: {} })

export class DeviceActivity extends EventTarget {
  readonly #devices = new Map<string, Tracked>()
  readonly #byPeer = new Map<string, string>()
  readonly #accepted: number[] = []
  readonly #rounds = new Map<string, RoundActivity>()
  readonly #queue = new SerialQueue()
  readonly #store: RoundActivityStore
  readonly #now: () => number
  readonly #log: Logger

  constructor(p: DeviceActivityParameters) {
    super()
    this.#store = p.store
    this.#now = p.now
    this.#log = p.logger.child({ component: 'gateway:dashboard-activity' })
  }

  /** The update handler, recording each decision. */
  handler(inner: UpdateHandler): UpdateHandler {
    return async (submission, options) => {
      const decision = await inner(submission, options)
      this.#decided(submission, decision, Number(submission.attestation.message.sampleCount))
      return decision
    }
  }

  /** The admission hook (header only), recording its refusals. */
  admit(inner: UpdateAdmit): UpdateAdmit {
    return async (header, options) => {
      const decision = await inner(header, options)
      if (decision !== undefined && !decision.accepted) this.#decided(header, decision, null)
      return decision
    }
  }

  /** The mesh layer's refusal callback (before any handler), recorded against the peer's device when known. */
  refusal(inner: (refusal: UpdateRefusal) => void): (refusal: UpdateRefusal) => void {
    return (refusal) => {
      inner(refusal)
      const device = this.#byPeer.get(refusal.peerId)
      if (device !== undefined) this.#reject(device, { time: this.#now(), round: null, reason: refusal.reason })
      this.#changed('rejection')
    }
  }

  /** A signed inference attestation from the mesh (its signature was checked by the topic validator). */
  inference(attestation: Signed<'InferenceAttestation'>['message'] | InferenceAttestation): void {
    const t = this.#track(attestation.device)
    if (t === undefined) return
    const now = this.#now()
    t.facts.lastSeen = now
    t.facts.inferenceModel = attestation.model
    t.inference.push(now)
    if (t.inference.length > MAX_DEVICE_EVENTS) t.inference.splice(0, t.inference.length - MAX_DEVICE_EVENTS)
    this.#changed('inference')
  }

  /** A round entered `meta.state` (RoundRunner's onState). */
  async roundState(meta: RoundMeta): Promise<void> {
    await this.#updateRound(meta.round, (r) => {
      r.phases[meta.state] ??= this.#now()
    })
    this.#changed('round')
  }

  async round(round: string): Promise<RoundActivity> {
    const cached = this.#rounds.get(round)
    if (cached !== undefined) return cached
    const stored = (await this.#store.get(round)) ?? emptyRound()
    this.#rounds.set(round, stored)
    return stored
  }

  device(device: Address): DeviceFacts | undefined {
    const t = this.#devices.get(device.toLowerCase())
    return t === undefined ? undefined : this.#facts(t)
  }

  devices(): DeviceFacts[] {
    return [...this.#devices.values()].map((t) => this.#facts(t))
  }

  /** Accepted updates per minute over the last RATE_WINDOW_SECONDS. */
  ingestRate(): number {
    return this.#rate(this.#accepted)
  }

  /** Inference attestations per minute, fleet-wide. */
  inferenceRate(): number {
    let sum = 0
    for (const t of this.#devices.values()) sum += this.#rate(t.inference)
    return sum
  }

  #rate(times: number[]): number {
    const since = this.#now() - RATE_WINDOW_SECONDS
    let n = 0
    for (let i = times.length - 1; i >= 0 && (times[i] as number) > since; i--) n++
    return (n * 60) / RATE_WINDOW_SECONDS
  }

  #facts(t: Tracked): DeviceFacts {
    return { ...t.facts, rejections: [...t.rejections], inferenceRate: this.#rate(t.inference) }
  }

  #track(device: string): Tracked | undefined {
    const key = device.toLowerCase()
    let t = this.#devices.get(key)
    if (t === undefined) {
      if (this.#devices.size >= MAX_TRACKED_DEVICES) return undefined
      t = {
        facts: { device: getAddress(device), peerId: null, serial: null, hardwareModel: null, keyStorage: null, lastSeen: null, samples: null, accepted: 0, rejected: 0, inferenceModel: null },
        rejections: [],
        inference: [],
      }
      this.#devices.set(key, t)
    }
    return t
  }

  #decided(s: Pick<VerifiedHeader, 'attestation' | 'certificate' | 'peerId'>, decision: UpdateDecision, samples: number | null): void {
    const message = s.attestation.message
    const t = this.#track(message.device)
    const now = this.#now()
    if (t !== undefined) {
      const c = s.certificate.message
      Object.assign(t.facts, { peerId: s.peerId, serial: c.serial, hardwareModel: c.hardwareModel, keyStorage: c.keyStorage, lastSeen: now })
      this.#byPeer.set(s.peerId, message.device.toLowerCase())
    }
    if (decision.accepted) {
      if (t !== undefined) {
        t.facts.accepted++
        if (samples !== null) t.facts.samples = samples
      }
      this.#accepted.push(now)
      if (this.#accepted.length > MAX_DEVICE_EVENTS * 16) this.#accepted.splice(0, this.#accepted.length - MAX_DEVICE_EVENTS * 16)
      this.#changed('update')
      return
    }
    const round = message.round.toString()
    this.#reject(message.device, { time: now, round, reason: decision.reason })
    void this.#updateRound(round, (r) => {
      r.rejected[decision.reason] = (r.rejected[decision.reason] ?? 0) + 1
    }).catch((err: unknown) => this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'round activity not stored'))
    this.#changed('rejection')
  }

  #reject(device: string, rejection: DeviceRejection): void {
    const t = this.#track(device)
    if (t === undefined) return
    t.facts.rejected++
    t.rejections.push(rejection)
    if (t.rejections.length > MAX_DEVICE_REJECTIONS) t.rejections.splice(0, t.rejections.length - MAX_DEVICE_REJECTIONS)
  }

  #updateRound(round: string, change: (r: RoundActivity) => void): Promise<void> {
    return this.#queue.run(async () => {
      const r = await this.round(round)
      change(r)
      await this.#store.put(round, r)
    })
  }

  #changed(what: string): void {
    this.dispatchEvent(new CustomEvent('change', { detail: { what } }))
  }
}
