// The gateway's Prometheus metrics (GET /metrics), in a registry of its own so that two daemons
// in one process (tests) never share counters.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { ROUND_STATES, type RoundState } from '../rounds/index.js'
import { MESH_REFUSAL_REASONS, type UpdateServiceStats } from '../../protocols/mesh/index.js'
import { REJECTION_REASONS } from '../verify/index.js'

export interface GatewayMetricsParameters {
  /** Connected mesh peers, read at scrape time. */
  peers(): number
  /** The update protocol's streams and reserved bytes, read at scrape time. */
  updates?(): UpdateServiceStats
  /** Also export the process's default metrics (CPU, memory, event loop). Default true. */
  defaults?: boolean
}

export class GatewayMetrics {
  readonly registry = new Registry()
  readonly #rounds: Counter<'state'>
  readonly #accepted: Counter
  readonly #rejected: Counter<'reason'>
  readonly #state: Gauge<'state'>
  readonly #round: Gauge
  readonly #accuracy: Gauge

  constructor(parameters: GatewayMetricsParameters) {
    const registers = [this.registry]
    this.#rounds = new Counter({ name: 'cw_gateway_rounds_total', help: 'Rounds that entered each state', labelNames: ['state'], registers })
    this.#accepted = new Counter({ name: 'cw_gateway_updates_accepted_total', help: 'Updates accepted', registers })
    this.#rejected = new Counter({ name: 'cw_gateway_updates_rejected_total', help: 'Updates rejected, by reason: signed rejections and refusals before verification (docs/rejections.md)', labelNames: ['reason'], registers })
    this.#state = new Gauge({ name: 'cw_gateway_round_state', help: '1 for the state the current round is in', labelNames: ['state'], registers })
    this.#round = new Gauge({ name: 'cw_gateway_current_round', help: 'Number of the current (or last) round', registers })
    this.#accuracy = new Gauge({ name: 'cw_gateway_model_accuracy', help: 'Validation accuracy of the current model', registers })
    new Gauge({
      name: 'cw_gateway_mesh_peers',
      help: 'Connected mesh peers',
      registers,
      collect() {
        this.set(parameters.peers())
      },
    })
    const updates = parameters.updates
    if (updates !== undefined) {
      new Gauge({
        name: 'cw_gateway_update_streams',
        help: 'Update streams open, by phase: unverified (header being read or checked; known: of a peer verified before), verified (update being read or handled)',
        labelNames: ['phase'],
        registers,
        collect() {
          const stats = updates()
          this.set({ phase: 'unverified' }, stats.unverified - stats.known)
          this.set({ phase: 'unverified-known' }, stats.known)
          this.set({ phase: 'verified' }, stats.verified)
        },
      })
      new Gauge({
        name: 'cw_gateway_update_buffered_bytes',
        help: 'Bytes reserved for updates being read or handled, across all peers (capped by MAX_UPDATE_BUFFERED_BYTES)',
        registers,
        collect() {
          this.set(updates().bufferedBytes)
        },
      })
      new Gauge({
        name: 'cw_gateway_update_streams_evicted',
        help: 'Unverified update streams cut off for newcomers since the start',
        registers,
        collect() {
          this.set(updates().evicted)
        },
      })
    }
    // Every series exists from the start, at zero, so that rates work from the first scrape.
    for (const state of ROUND_STATES) {
      this.#rounds.inc({ state }, 0)
      this.#state.set({ state }, 0)
    }
    for (const reason of new Set<string>([...REJECTION_REASONS, ...MESH_REFUSAL_REASONS])) this.#rejected.inc({ reason }, 0)
    if (parameters.defaults ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'cw_gateway_' })
  }

  roundState(round: bigint, state: RoundState, entered: boolean): void {
    if (entered) this.#rounds.inc({ state })
    this.#round.set(Number(round))
    for (const s of ROUND_STATES) this.#state.set({ state: s }, s === state ? 1 : 0)
  }

  accepted(): void {
    this.#accepted.inc()
  }

  rejected(reason: string): void {
    this.#rejected.inc({ reason })
  }

  accuracy(value: number): void {
    this.#accuracy.set(value)
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
