// The data behind each page of the dashboard, built from the gateway's own state: the round store
// and the round records it keeps (every contribution, nothing sampled), the chain (registry
// events, settlement receipts with their gas), the mesh (connections) and DeviceActivity.
import { performance } from 'node:perf_hooks'
import type { Address, Hex, PublicClient } from 'viem'
import { auditRound, contentId, decodeRoundRecord, decodeSubmission, readRoundSettlement, type AuditItem, type FleetFile, type RoundRecord } from '../../protocols/index.js'
import { listFleetDevices, type FleetDevice } from '../../protocols/contracts/index.js'
import type { RoundMeta, RoundStore } from '../rounds/index.js'
import type { SettlementJournal } from '../settlement/index.js'
import { CHAIN_PROBE_CACHE_MS, DEVICE_LIST_CACHE_MS, ONLINE_WINDOW_SECONDS } from './constants.js'
import type { DeviceActivity, DeviceRejection } from './device-activity.js'

export interface ViewSources {
  fleet: FleetFile
  store: RoundStore
  client: PublicClient
  journal: SettlementJournal
  activity: DeviceActivity
  /** Peer ids the gateway holds a connection with now. */
  connectedPeers(): Set<string>
  /** Validation accuracy of a model, when known. */
  accuracyOf(model: Hex): Promise<number | null>
  /** Unix seconds. */
  now(): number
}

export interface DeviceRow {
  device: Address
  serial: string | null
  hardwareModel: string | null
  peerId: string | null
  status: 'registered' | 'revoked'
  online: boolean
  lastSeen: number | null
  model: Hex | null
  /** The round whose settlement made `model`, 0 for the genesis model, null when unknown. */
  modelRound: number | null
  samples: number | null
  /** Σ over rounds of the quality the records give it (ppm / 1e6), and of its rewards (decimal). */
  score: number
  reward: string
  contributions: number
  rejected: number
  inferenceRate: number
}

export interface RoundRow {
  round: number
  state: string
  strategy: string
  participants: number
  accepted: number
  rejected: Record<string, number>
  accuracy: number | null
  keptParent: boolean | null
  baseModel: Hex
  newModel: Hex | null
  contributionsRoot: Hex | null
  recordHash: Hex | null
  settlement: string | null
  transaction: Hex | null
  block: string | null
  gasUsed: string | null
  /** Unix seconds each phase began at (announced, collecting, aggregating, settling, done), as far as known. */
  phases: Record<string, number>
  announcedAt: number
  deadline: number
}

export interface ContributionRow {
  device: Address
  serial: string
  samples: string
  used: boolean
  qualityPpm: number
  reward: string
}

/** Bounded caches of what never changes once written: decoded records and transaction receipts. */
class Memo<V> {
  readonly #map = new Map<string, V>()
  constructor(readonly max: number) {}
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.#map.get(key)
    if (hit !== undefined) return hit
    const value = await load()
    if (this.#map.size >= this.max) this.#map.delete(this.#map.keys().next().value as string)
    this.#map.set(key, value)
    return value
  }
}

export class DashboardViews {
  readonly #s: ViewSources
  readonly #records = new Memo<RoundRecord | null>(1024)
  readonly #receipts = new Memo<{ block: string; gasUsed: string } | null>(4096)
  #devices: { at: number; list: Promise<FleetDevice[]> } | undefined
  #probe: { at: number; value: Promise<{ head: string | null; latencyMs: number | null; error: string | null }> } | undefined

  constructor(sources: ViewSources) {
    this.#s = sources
  }

  async #allRounds(): Promise<RoundMeta[]> {
    const current = await this.#s.store.current()
    const rounds: RoundMeta[] = []
    if (current === undefined) return rounds
    for (let n = 1n; n <= BigInt(current.round); n++) {
      const m = await this.#s.store.get(n)
      if (m !== undefined) rounds.push(m)
    }
    return rounds
  }

  async record(meta: RoundMeta): Promise<RoundRecord | null> {
    const hash = meta.result?.recordHash
    if (hash === undefined) return null
    return this.#records.get(hash.toLowerCase(), async () => {
      const bytes = await this.#s.store.model(hash)
      return bytes === undefined ? null : decodeRoundRecord(bytes)
    })
  }

  async #receipt(tx: Hex): Promise<{ block: string; gasUsed: string } | null> {
    return this.#receipts.get(tx.toLowerCase(), async () => {
      const r = await this.#s.client.getTransactionReceipt({ hash: tx })
      return { block: r.blockNumber.toString(), gasUsed: r.gasUsed.toString() }
    })
  }

  #registry(): Promise<FleetDevice[]> {
    const now = Date.now()
    if (this.#devices === undefined || now - this.#devices.at > DEVICE_LIST_CACHE_MS) {
      const list = listFleetDevices(this.#s.client, { registry: this.#s.fleet.contracts.registry, fromBlock: BigInt(this.#s.fleet.contracts.deployedAt) })
      this.#devices = { at: now, list }
      list.catch(() => {
        // A failed read is not kept: the next request reads again.
        this.#devices = undefined
      })
    }
    return this.#devices.list
  }

  async roundRow(meta: RoundMeta): Promise<RoundRow> {
    const activity = await this.#s.activity.round(meta.round)
    const tx = (meta.settlement?.transactionHash as Hex | undefined) ?? null
    const receipt = tx === null ? null : await this.#receipt(tx).catch(() => null)
    const newModel = meta.result?.newModel ?? null
    return {
      round: Number(meta.round),
      state: meta.state,
      strategy: meta.config.strategy.name,
      participants: meta.participants.length,
      accepted: meta.accepted,
      rejected: { ...activity.rejected },
      accuracy: newModel === null ? null : await this.#s.accuracyOf(newModel),
      keptParent: meta.result?.keptParent ?? null,
      baseModel: meta.baseModel,
      newModel,
      contributionsRoot: meta.result?.contributionsRoot ?? null,
      recordHash: meta.result?.recordHash ?? null,
      settlement: meta.settlement?.status ?? null,
      transaction: tx,
      block: receipt?.block ?? meta.settlement?.blockNumber ?? null,
      gasUsed: receipt?.gasUsed ?? null,
      phases: { announced: meta.announcedAt, ...activity.phases },
      announcedAt: meta.announcedAt,
      deadline: meta.deadline,
    }
  }

  async rounds(): Promise<{ genesis: { model: Hex; accuracy: number | null }; rounds: RoundRow[] }> {
    const rows: RoundRow[] = []
    for (const m of await this.#allRounds()) rows.push(await this.roundRow(m))
    const first = (await this.#s.store.get(1n))?.baseModel
    return { genesis: { model: first ?? ('0x' as Hex), accuracy: first === undefined ? null : await this.#s.accuracyOf(first) }, rounds: rows }
  }

  async round(n: bigint): Promise<{ round: RoundRow; contributions: ContributionRow[]; blobs: { kind: string; hash: Hex }[] } | undefined> {
    const meta = await this.#s.store.get(n)
    if (meta === undefined) return undefined
    const record = await this.record(meta)
    const contributions: ContributionRow[] = (record?.contributions ?? []).map((c) => ({
      device: c.attestation.message.device,
      serial: c.certificate.message.serial,
      samples: c.attestation.message.sampleCount.toString(),
      used: c.used,
      qualityPpm: c.qualityPpm,
      reward: c.reward.toString(),
    }))
    return { round: await this.roundRow(meta), contributions, blobs: await this.#blobs(meta, record) }
  }

  async #blobs(meta: RoundMeta, record: RoundRecord | null): Promise<{ kind: string; hash: Hex }[]> {
    const blobs: { kind: string; hash: Hex }[] = []
    if (meta.result !== undefined) blobs.push({ kind: 'record', hash: meta.result.recordHash })
    blobs.push({ kind: 'base model', hash: meta.baseModel })
    if (meta.result !== undefined && meta.result.newModel.toLowerCase() !== meta.baseModel.toLowerCase()) blobs.push({ kind: 'new model', hash: meta.result.newModel })
    if (meta.result?.stateHash !== undefined) blobs.push({ kind: 'optimiser state', hash: meta.result.stateHash })
    for (const c of record?.contributions ?? []) blobs.push({ kind: `update of ${c.attestation.message.device}`, hash: c.attestation.message.updateHash })
    return blobs
  }

  /** The bytes of a blob that round `n` references, or undefined. */
  async blob(n: bigint, hash: Hex): Promise<Uint8Array | undefined> {
    const meta = await this.#s.store.get(n)
    if (meta === undefined) return undefined
    const listed = (await this.#blobs(meta, await this.record(meta))).some((b) => b.hash.toLowerCase() === hash.toLowerCase())
    if (!listed) return undefined
    const stored = await this.#s.store.model(hash)
    if (stored !== undefined) return stored
    for await (const bytes of this.#s.store.updates(n)) {
      const update = decodeSubmission(bytes).update
      if (contentId(update).toLowerCase() === hash.toLowerCase()) return update
    }
    return undefined
  }

  /** `auditRound` over the record and the blobs the gateway holds, then the record against the chain's settlement. */
  async audit(n: bigint): Promise<{ ok: boolean; items: AuditItem[] } | undefined> {
    const meta = await this.#s.store.get(n)
    const recordHash = meta?.result?.recordHash
    if (meta === undefined || recordHash === undefined) return undefined
    const recordBytes = await this.#s.store.model(recordHash)
    if (recordBytes === undefined) return { ok: false, items: [{ item: 'record', ok: false, detail: `record ${recordHash} is not in the store` }] }
    const report = await auditRound(recordBytes, (hash) => this.blob(n, hash))
    const items = [...report.items]
    const onChain = await readRoundSettlement(this.#s.client, { ledger: this.#s.fleet.contracts.ledger, round: n, fromBlock: BigInt(this.#s.fleet.contracts.deployedAt) })
    if (!onChain.settled) items.push({ item: 'settlement', ok: false, detail: `round ${n} is not settled on chain` })
    else {
      const same = (a: string, b: string | undefined): boolean => a.toLowerCase() === (b ?? '').toLowerCase()
      items.push({ item: 'settlement record hash', ok: same(onChain.recordHash, recordHash), detail: onChain.recordHash })
      items.push({ item: 'settlement new model', ok: same(onChain.newModel, meta.result?.newModel), detail: onChain.newModel })
      items.push({ item: 'settlement contributions root', ok: same(onChain.contributionsRoot, meta.result?.contributionsRoot), detail: onChain.contributionsRoot })
    }
    return { ok: items.every((i) => i.ok), items }
  }

  async fleetRows(): Promise<DeviceRow[]> {
    const registered = await this.#registry()
    const rounds = await this.#allRounds()
    const modelRound = new Map<string, number>()
    const first = rounds[0]?.baseModel
    if (first !== undefined) modelRound.set(first.toLowerCase(), 0)
    for (const m of rounds) if (m.result !== undefined && m.settlement?.status !== 'skipped') modelRound.set(m.result.newModel.toLowerCase(), modelRound.get(m.result.newModel.toLowerCase()) ?? Number(m.round))
    const totals = new Map<string, { score: number; reward: bigint; contributions: number; serial: string; lastRound: number }>()
    for (const m of rounds) {
      const record = await this.record(m)
      for (const c of record?.contributions ?? []) {
        const key = c.attestation.message.device.toLowerCase()
        const t = totals.get(key) ?? { score: 0, reward: 0n, contributions: 0, serial: c.certificate.message.serial, lastRound: 0 }
        t.score += c.qualityPpm / 1e6
        t.reward += c.reward
        t.contributions++
        t.serial = c.certificate.message.serial
        t.lastRound = Number(m.round)
        totals.set(key, t)
      }
    }
    const connected = this.#s.connectedPeers()
    const now = this.#s.now()
    const currentModel = [...rounds].reverse().find((m) => m.state === 'done' && m.result !== undefined)?.result?.newModel ?? first ?? null
    return registered.map((d) => {
      const key = d.device.toLowerCase()
      const facts = this.#s.activity.device(d.device)
      const t = totals.get(key)
      const model = facts?.inferenceModel ?? null
      const online = (facts?.peerId != null && connected.has(facts.peerId)) || (facts?.lastSeen != null && now - facts.lastSeen <= ONLINE_WINDOW_SECONDS)
      return {
        device: d.device,
        serial: facts?.serial ?? t?.serial ?? null,
        hardwareModel: facts?.hardwareModel ?? null,
        peerId: facts?.peerId ?? null,
        status: d.status,
        online,
        lastSeen: facts?.lastSeen ?? null,
        model: model ?? (t !== undefined ? currentModel : null),
        modelRound: model === null ? null : (modelRound.get(model.toLowerCase()) ?? null),
        samples: facts?.samples ?? null,
        score: t?.score ?? 0,
        reward: (t?.reward ?? 0n).toString(),
        contributions: t?.contributions ?? 0,
        rejected: facts?.rejected ?? 0,
        inferenceRate: facts?.inferenceRate ?? 0,
      }
    })
  }

  async device(device: Address): Promise<{ device: DeviceRow; rounds: (ContributionRow & { round: number })[]; rejections: DeviceRejection[] } | undefined> {
    const row = (await this.fleetRows()).find((d) => d.device.toLowerCase() === device.toLowerCase())
    if (row === undefined) return undefined
    const rounds: (ContributionRow & { round: number })[] = []
    for (const m of await this.#allRounds()) {
      const c = (await this.record(m))?.contributions.find((x) => x.attestation.message.device.toLowerCase() === device.toLowerCase())
      if (c !== undefined)
        rounds.push({ round: Number(m.round), device: row.device, serial: c.certificate.message.serial, samples: c.attestation.message.sampleCount.toString(), used: c.used, qualityPpm: c.qualityPpm, reward: c.reward.toString() })
    }
    return { device: row, rounds, rejections: this.#s.activity.device(device)?.rejections ?? [] }
  }

  /** Chain head and the time one JSON-RPC call takes. */
  chainProbe(): Promise<{ head: string | null; latencyMs: number | null; error: string | null }> {
    const now = Date.now()
    if (this.#probe === undefined || now - this.#probe.at > CHAIN_PROBE_CACHE_MS) {
      const started = performance.now()
      const value = this.#s.client.getBlockNumber({ cacheTime: 0 }).then(
        (head) => ({ head: head.toString(), latencyMs: Math.round((performance.now() - started) * 10) / 10, error: null }),
        (err: unknown) => ({ head: null, latencyMs: null, error: err instanceof Error ? err.message.split('\n')[0] ?? 'error' : String(err) }),
      )
      this.#probe = { at: now, value }
    }
    return this.#probe.value
  }

  /** Rounds whose settlement is not confirmed yet: in `settling`, with the journal's pending transaction if one was sent. */
  async settlementOutbox(): Promise<{ round: number; transaction: Hex | null }[]> {
    const pending: { round: number; transaction: Hex | null }[] = []
    for (const m of await this.#allRounds()) {
      if (m.state !== 'settling') continue
      const entry = await this.#s.journal.get(BigInt(m.round))
      pending.push({ round: Number(m.round), transaction: entry?.hash ?? null })
    }
    return pending
  }
}
