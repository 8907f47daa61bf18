// Runs a fleet's rounds through open → collecting → aggregating → settling → done, on the
// persisted RoundStore. Aggregation reads the accepted updates back from the store in device
// order and is deterministic, so a round resumed after a crash produces the model an
// uninterrupted one would have.
import { pino, type Logger } from 'pino'
import { getAddress, type Address, type Hex } from 'viem'
import {
  aggregationSamples,
  buildRoundRecord,
  Consensus,
  contentId,
  contributionQuality,
  decodeModel,
  decodeSubmission,
  decodeUpdate,
  encodeModel,
  encodeSelectionRule,
  encodeUpdate,
  participantsRoot,
  readInitializers,
  replaceInitializers,
  selectionSeed,
  selectParticipants,
  signMessage,
  sortByName,
  subtractWeights,
  type ClientUpdate,
  type FleetDomain,
  type NamedTensor,
  type RecordedContribution,
  type Signed,
  type Signer,
  type Strategy,
  contributionPrivacy,
  decodeRoundRecord,
  encodeRoundPrivacy,
  MEAN_STRATEGIES,
  parseRoundPrivacy,
  PrivacyStrategyError,
  withCentralDp,
  type GaussianSource,
  type LedgerEntry,
  type RoundPrivacy,
} from '../../protocols/index.js'
import { EvaluationError, RoundConfigError, RoundStateError } from '../errors.js'
import { minUpdatesOf, parseRoundConfig, quorumOf, type RoundConfig, type RoundConfigInput } from './round-config.js'
import { type RoundEvaluation, type RoundMeta, type RoundResult, type RoundStore } from './round-store.js'

export interface RoundRunnerParameters {
  store: RoundStore
  domain: FleetDomain
  fleet: Hex
  /** The gateway's key: it signs announcements. */
  gateway: Signer
  /** The fleet owner, who certifies devices: recorded for auditors. */
  owner: Address
  /** Reward tokens split among each round's contributions (docs/scoring.md). Default 0. */
  rewardTotal?: bigint
  /** The strategy a round configuration names. */
  strategy(config: RoundConfig['strategy']): Strategy
  /** Publishes a signed announcement (gossipsub in the daemon). Called again after a restart in `open`. */
  announce(announcement: Signed<'RoundAnnouncement'>): Promise<void>
  /** Records the round on chain; must be idempotent (a restart in `settling` calls it again). */
  settle?(meta: RoundMeta): Promise<Record<string, string>>
  /** Scores a model on the gateway's validation set, higher is better. */
  evaluate?(model: Uint8Array): Promise<number>
  /** How much worse than its parent a new model may score before the parent is kept. */
  evaluationMargin?: number
  /** Called after every committed state change (for logs, metrics and tests). */
  onState?(meta: RoundMeta): Promise<void>
  /** Unix seconds. */
  now?(): number
  /** Noise of central-DP rounds; the platform CSPRNG unless a benchmark gives its own. */
  gaussian?: GaussianSource
  logger?: Logger
}

export interface StartRoundParameters {
  round: bigint
  baseModel: Uint8Array
  config: RoundConfigInput
  /** Registered devices eligible to take part. */
  eligible: readonly Address[]
  /** The chain block at which `eligible` was read from the registry: announced, so that anyone can recompute the selection. */
  eligibleBlock?: bigint
}

const canonicalParams = (params: Readonly<Record<string, number>>): string =>
  JSON.stringify(Object.fromEntries(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1))))

const jsonSafe = (message: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(message).map(([k, v]) => [k, String(v)]))

export class RoundRunner {
  readonly #p: RoundRunnerParameters
  readonly #log: Logger

  constructor(parameters: RoundRunnerParameters) {
    const margin = parameters.evaluationMargin
    if (margin !== undefined && !(Number.isFinite(margin) && margin >= 0)) throw new RoundConfigError('evaluationMargin', 'must be a finite number >= 0')
    this.#p = parameters
    this.#log = (parameters.logger ?? pino({ enabled: false })).child({ component: 'gateway:rounds' })
  }

  #now(): number {
    return Math.floor(this.#p.now?.() ?? Date.now() / 1000)
  }

  /** Opens a round, announces it and starts collecting. */
  async start({ round, baseModel, config: input, eligible, eligibleBlock = 0n }: StartRoundParameters): Promise<RoundMeta> {
    const config = parseRoundConfig(input)
    const strategy = this.#p.strategy(config.strategy)
    if (config.privacy?.mode === 'central' && !MEAN_STRATEGIES.includes(strategy.name))
      throw new PrivacyStrategyError(strategy.name, 'central DP', `only a mean can be noised (${MEAN_STRATEGIES.join(', ')}); clip on the devices instead`)
    decodeModel(baseModel) // a base model that does not decode is refused before anything is written
    const baseHash = contentId(baseModel)
    await this.#p.store.putModel(baseHash, baseModel)
    const announcedAt = this.#now()
    const deadline = announcedAt + config.durationSeconds
    const seed = selectionSeed(round, baseHash)
    const participants = selectParticipants(eligible, seed, config.selection)
    const message = {
      fleet: this.#p.fleet,
      round,
      gateway: this.#p.gateway.address,
      baseModel: baseHash,
      strategy: strategy.name,
      params: canonicalParams(strategy.configure().params),
      deadline: BigInt(deadline),
      selectionSeed: seed,
      selectionRule: encodeSelectionRule(config.selection),
      eligibleBlock,
      participantsRoot: participantsRoot(participants),
      privacy: encodeRoundPrivacy(roundPrivacyOf(config.privacy, participants.length, eligible.length)),
    }
    const signed = await signMessage('RoundAnnouncement', { domain: this.#p.domain, message, signer: this.#p.gateway })
    const opened = await this.#p.store.open({
      round: round.toString(),
      config,
      baseModel: baseHash,
      announcedAt,
      deadline,
      participants,
      announcement: { message: jsonSafe(message), signature: signed.signature },
    })
    await this.#p.onState?.(opened)
    this.#log.info({ round: round.toString(), baseModel: baseHash, deadline }, 'round opened')
    return this.#announce(round)
  }

  async #announce(round: bigint): Promise<RoundMeta> {
    const meta = await this.#require(round, 'open')
    await this.#p.announce(announcementOf(meta))
    return this.#changed(this.#p.store.transition(round, 'open'))
  }

  /** Keeps an accepted update; false when the device or attestation was already counted. */
  async accept(round: bigint, device: Address, attestationHash: Hex, submission: Uint8Array): Promise<{ stored: boolean; quorum: boolean }> {
    const stored = await this.#p.store.putUpdate(round, device, attestationHash, submission)
    const meta = await this.#require(round, 'collecting')
    return { stored, quorum: meta.accepted >= quorumOf(meta.config, meta.participants.length) }
  }

  /** Whether the round should stop collecting: quorum (by default, every selected device) reached, or deadline passed. */
  async due(round: bigint): Promise<boolean> {
    const meta = await this.#require(round, 'collecting')
    return meta.accepted >= quorumOf(meta.config, meta.participants.length) || this.#now() >= meta.deadline
  }

  /** Stops collecting, aggregates, and settles. */
  async finish(round: bigint): Promise<RoundMeta> {
    await this.#changed(this.#p.store.transition(round, 'collecting'))
    await this.#aggregate(round)
    return this.#settle(round)
  }

  /**
   * Continues the current round from its persisted state after a restart: re-announces an open
   * round, aggregates and settles an interrupted one. A collecting round goes on collecting.
   */
  async resume(): Promise<RoundMeta | undefined> {
    const meta = await this.#p.store.current()
    if (meta === undefined) return undefined
    const round = BigInt(meta.round)
    this.#log.info({ round: meta.round, state: meta.state }, 'resuming round')
    switch (meta.state) {
      case 'open':
        return this.#announce(round)
      case 'aggregating':
        await this.#aggregate(round)
        return this.#settle(round)
      case 'settling':
        return this.#settle(round)
      default:
        return meta
    }
  }

  async #require(round: bigint, state: RoundMeta['state']): Promise<RoundMeta> {
    const meta = await this.#p.store.get(round)
    if (meta === undefined || meta.state !== state) throw new RoundStateError(round, meta?.state, `expected the round to be ${state}`)
    return meta
  }

  async #aggregate(round: bigint): Promise<RoundMeta> {
    const meta = await this.#require(round, 'aggregating')
    const store = this.#p.store
    const baseBytes = await store.model(meta.baseModel)
    if (baseBytes === undefined) throw new RoundStateError(round, meta.state, `base model ${meta.baseModel} is not in the store`)
    const model = decodeModel(baseBytes)
    const base = sortByName(readInitializers(model, { floatOnly: true })) as NamedTensor<'float32'>[]
    const announced = announcementOf(meta)
    const privacy = parseRoundPrivacy(announced.message.privacy)
    const plain = this.#p.strategy(meta.config.strategy)
    const strategy = privacy?.mode === 'central' ? withCentralDp(plain, { clipNorm: privacy.clipNorm, noiseMultiplier: privacy.noiseMultiplier, ...(this.#p.gaussian === undefined ? {} : { gaussian: this.#p.gaussian }) }) : plain
    const previousState = await this.#previousState(round)
    async function* updates(): AsyncGenerator<ClientUpdate> {
      for await (const bytes of store.updates(round)) {
        const submission = decodeSubmission(bytes)
        yield {
          device: getAddress(submission.attestation.message.device),
          // A claim counts up to SAMPLE_WEIGHT_CAP: it cannot buy the aggregate (docs/scoring.md).
          sampleCount: aggregationSamples(submission.attestation.message.sampleCount),
          delta: decodeUpdate(submission.update).tensors,
        }
      }
    }
    const blobs: [Hex, Uint8Array][] = []
    let newModel = meta.baseModel
    let keptParent = true
    let used: Address[] = []
    let nextState: Hex | undefined
    let evaluation: RoundEvaluation | undefined
    const contributions: RecordedContribution[] = []
    // Below the minimum nothing is aggregated: the parent is kept and the record lists no contribution.
    const enough = meta.accepted >= minUpdatesOf(meta.config)
    if (!enough) this.#log.info({ round: meta.round, accepted: meta.accepted, minUpdates: minUpdatesOf(meta.config) }, 'fewer updates than the minimum: nothing aggregated')
    if (meta.accepted > 0 && enough) {
      const aggregated = await strategy.aggregate(base, updates(), previousState.tensors)
      const bytes = encodeModel(replaceInitializers(model, aggregated.weights))
      keptParent = false
      if (this.#p.evaluate !== undefined) {
        const [parentScore, newScore] = [await this.#p.evaluate(baseBytes), await this.#p.evaluate(bytes)]
        for (const [which, score] of [['parent', parentScore], ['new', newScore]] as const)
          if (!Number.isFinite(score)) throw new EvaluationError(`the ${which} model scored ${score}, not a finite number`)
        const margin = this.#p.evaluationMargin ?? 0
        keptParent = newScore < parentScore - margin
        evaluation = { parentScore, newScore, margin }
        this.#log.info({ round: meta.round, parentScore, newScore, keptParent }, 'evaluated')
      }
      if (!keptParent) {
        newModel = contentId(bytes)
        blobs.push([newModel, bytes])
      }
      used = [...aggregated.used]
      if (aggregated.state.length > 0) {
        const stateBytes = encodeUpdate(aggregated.state, { encoding: 'float32' })
        nextState = contentId(stateBytes)
        blobs.push([nextState, stateBytes])
      }
      // Scores stream too: the used updates' directions are summed, then each update is scored against the others' (docs/scoring.md).
      const aggregateDelta = subtractWeights(aggregated.weights, base)
      const usedSet = new Set(used.map((d) => d.toLowerCase()))
      const consensus = new Consensus()
      for await (const bytes of store.updates(round)) {
        const submission = decodeSubmission(bytes)
        if (usedSet.has(submission.attestation.message.device.toLowerCase())) consensus.add(decodeUpdate(submission.update).tensors)
      }
      const ledgers = privacy === undefined ? undefined : await this.#ledgers(round)
      for await (const bytes of store.updates(round)) {
        const submission = decodeSubmission(bytes)
        const isUsed = usedSet.has(submission.attestation.message.device.toLowerCase())
        contributions.push({
          ...(privacy === undefined || ledgers === undefined ? {} : { privacy: contributionPrivacy(ledgers.get(submission.attestation.message.device.toLowerCase()) ?? [], privacy) }),
          attestation: submission.attestation,
          certificate: submission.certificate,
          used: isUsed,
          qualityPpm: contributionQuality(decodeUpdate(submission.update).tensors, consensus, aggregateDelta, isUsed),
        })
      }
    }
    const record = buildRoundRecord({
      domain: this.#p.domain,
      owner: this.#p.owner,
      announcement: announcementOf(meta),
      contributions,
      newModel,
      keptParent,
      ...(previousState.hash === undefined ? {} : { previousState: previousState.hash }),
      ...(nextState === undefined ? {} : { nextState }),
      rewardTotal: this.#p.rewardTotal ?? 0n,
    })
    blobs.push([record.hash, record.bytes])
    const result: RoundResult = {
      newModel,
      used,
      keptParent,
      ...(evaluation === undefined ? {} : { evaluation }),
      ...(nextState === undefined ? {} : { stateHash: nextState }),
      recordHash: record.hash,
      contributionsRoot: record.record.contributionsRoot,
      rewardTotal: record.record.rewardTotal.toString(),
    }
    this.#log.info({ round: meta.round, newModel: result.newModel, updates: result.used.length }, 'aggregated')
    return this.#changed(store.transition(round, 'aggregating', { result }, blobs))
  }

  /**
   * Each device's privacy ledger before `round`: from the latest earlier round record it is in.
   * Reads records back until every round is seen; a fleet's first DP round reads none.
   */
  async #ledgers(round: bigint): Promise<Map<string, LedgerEntry[]>> {
    const found = new Map<string, LedgerEntry[]>()
    const seen = new Set<string>()
    for (let r = round - 1n; r >= 0n; r--) {
      const meta = await this.#p.store.get(r)
      const hash = meta?.result?.recordHash
      if (hash === undefined) continue
      const bytes = await this.#p.store.model(hash)
      if (bytes === undefined) continue
      let record
      try {
        record = decodeRoundRecord(bytes)
      } catch {
        continue // round 0 holds the genesis document, not a round record
      }
      for (const c of record.contributions) {
        const device = c.attestation.message.device.toLowerCase()
        if (seen.has(device)) continue
        seen.add(device)
        if (c.privacy !== undefined) found.set(device, c.privacy.ledger)
      }
    }
    return found
  }

  /** The server optimiser state the previous round left, if any, and its hash. */
  async #previousState(round: bigint): Promise<{ tensors: NamedTensor<'float32'>[]; hash?: Hex }> {
    if (round === 0n) return { tensors: [] }
    const previous = await this.#p.store.get(round - 1n)
    const hash = previous?.result?.stateHash
    if (hash === undefined) return { tensors: [] }
    const bytes = await this.#p.store.model(hash)
    return bytes === undefined ? { tensors: [] } : { tensors: decodeUpdate(bytes).tensors, hash }
  }

  async #settle(round: bigint): Promise<RoundMeta> {
    const meta = await this.#require(round, 'settling')
    const settlement = this.#p.settle === undefined ? {} : await this.#p.settle(meta)
    this.#log.info({ round: meta.round, ...settlement }, 'settled')
    return this.#changed(this.#p.store.transition(round, 'settling', { settlement }))
  }

  async #changed(transition: Promise<RoundMeta>): Promise<RoundMeta> {
    const meta = await transition
    await this.#p.onState?.(meta)
    return meta
  }
}

/** The announced privacy of a round configured with `privacy`, n of `eligible` devices selected. */
export function roundPrivacyOf(privacy: RoundConfig['privacy'], selected: number, eligible: number): RoundPrivacy | undefined {
  if (privacy === undefined) return undefined
  const sampleRate = privacy.amplifyBySelection && eligible > 0 ? Math.min(1, selected / eligible) : 1
  return { mode: privacy.mode, clipNorm: privacy.clipNorm, noiseMultiplier: privacy.noiseMultiplier, sampleRate, delta: privacy.delta }
}

/** A stored round's announcement as signed: its bigint fields back from their decimal strings. */
export function announcementOf(meta: RoundMeta): Signed<'RoundAnnouncement'> {
  const m = meta.announcement.message
  return {
    message: {
      fleet: m.fleet as Hex,
      round: BigInt(m.round as string),
      gateway: m.gateway as Address,
      baseModel: m.baseModel as Hex,
      strategy: m.strategy as string,
      params: m.params as string,
      deadline: BigInt(m.deadline as string),
      selectionSeed: m.selectionSeed as Hex,
      selectionRule: m.selectionRule as string,
      eligibleBlock: BigInt(m.eligibleBlock as string),
      participantsRoot: m.participantsRoot as Hex,
      // Rounds stored before announcements carried privacy announced none.
      privacy: (m.privacy as string | undefined) ?? '',
    },
    signature: meta.announcement.signature,
  }
}
