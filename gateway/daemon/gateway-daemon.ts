// The gateway daemon (`cw gateway start`): one process that runs a fleet's rounds end to end.
//   - state in its data directory: rounds in level (RoundStore), the settlement journal, the
//     libp2p transport key, the published blobs, api.json;
//   - the gateway key from its key store, settlement on the fleet's chain;
//   - a mesh node that announces rounds, takes updates (verify → accept → signed Receipt) and
//     serves models, updates and records;
//   - genesis: the initial model settled as round 0;
//   - rounds on demand (POST /rounds) or on an interval; a collecting round is finished at quorum
//     or deadline; a restart resumes the round where it stopped (RoundRunner.resume);
//   - an HTTP API on loopback: status, round start, Prometheus metrics.
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { PrivateKey } from '@libp2p/interface'
import { Level } from 'level'
import { pino, type Logger } from 'pino'
import { getAddress, isAddressEqual, type Address, type Hex } from 'viem'
import {
  BaseError,
  ConfigError,
  contentId,
  decodeModel,
  decodeSubmission,
  readInitializers,
  sortByName,
  strategyFor,
  type FleetFile,
} from '../../protocols/index.js'
import { listFleetDevices, readRoundSettlement } from '../../protocols/contracts/index.js'
import { createMeshNode, type MeshLimits, type MeshNode, type UpdateDecision, type UpdateService, type VerifiedHeader, type VerifiedSubmission } from '../../protocols/mesh/index.js'
import { createEngine, loadTransportKey, openKeyStore, readFleetFile, readJsonConfig, writeJsonConfig, type KeySigner, type KeyStore } from '../../hardware/index.js'
import { LevelBlobStore } from '../../hardware/storage/index.js'
import { NoEligibleDevicesError, RoundRunningError, RoundStateError } from '../errors.js'
import { announcementOf, lastSettledModel, minUpdatesOf, readValidationCsv, RoundRunner, RoundStore, type RoundMeta, type RoundState } from '../rounds/index.js'
import { createValidationEvaluator, type ValidationEvaluator } from '../rounds/validation-evaluator.js'
import { ChainRegistry, connectChain, FileSettlementJournal, settleRound, signerToAccount, type ChainConnection } from '../settlement/index.js'
import { verifyHeader, verifySubmission, type TensorSpec, type VerificationContext } from '../verify/index.js'
import type { ApiFile } from './api-client.js'
import type { GatewayConfig } from './config.js'
import { API_FILE, DB_DIR, JOURNAL_DIR, PUBLISHED_DIR, ROUND_RETRY_MAX_MS, ROUND_RETRY_MIN_MS, ROUND_TICK_MS, SCORES_SUBLEVEL, VALIDATION_MAX_BYTES, VALIDATION_MAX_ROWS } from './constants.js'
import { genesisDocument, settleGenesis } from './genesis.js'
import { loadInitialModel } from './initial-model.js'
import { roundSummaries } from './round-summaries.js'
import { startHttpApi, type HttpApi } from './http-api.js'
import { GatewayMetrics } from './metrics.js'
import { Publisher } from './publisher.js'
import { settledRoot } from './settled-root.js'
import { createDashboard, DeviceActivity, type RoundActivity } from '../dashboard/index.js'

export interface RoundSummary {
  round: number
  state: RoundState
  /** Devices selected for the round. */
  participants: number
  accepted: number
  baseModel: Hex
  newModel: Hex | null
  keptParent: boolean | null
  /** Validation accuracy of the model the round ended with; null without a validation set or before aggregation. */
  accuracy: number | null
  recordHash: Hex | null
  /** `settled`, `already-settled`, or `skipped` (a round without contributions is not settled). */
  settlement: string | null
  settlementTx: Hex | null
  deadline: number
}

export interface GatewayStatus {
  gateway: Address
  fleet: Hex
  peerId: string
  multiaddrs: string[]
  pid: number
  /** `idle` between rounds, else the current round's state; `stopping` on the way out. */
  state: 'idle' | 'stopping' | RoundState
  /** The round that runs now, or null. */
  round: number | null
  /** The model the next round trains: the last round's new model, or the initial model. */
  model: { hash: Hex; accuracy: number | null }
  genesis: { model: Hex; recordHash: Hex; settlementTx: Hex | null; accuracy: number | null }
  mesh: { peers: number; subscribers: number }
  updates: { accepted: number; rejected: Record<string, number> }
  schedule: GatewayConfig['rounds']['schedule']
  /** The last error of a round operation (it is retried), or null. */
  lastError: string | null
  rounds: RoundSummary[]
}

export interface GatewayDaemon {
  readonly url: string
  readonly peerId: string
  readonly multiaddrs: string[]
  status(): Promise<GatewayStatus>
  /** Starts the next round now; RoundRunningError while one runs. */
  startRound(): Promise<RoundMeta>
  stop(): Promise<void>
}

export interface StartGatewayDaemonOptions {
  logger?: Logger
  /** Unix seconds; a clock for tests. */
  now?: () => number
}

type Db = ConstructorParameters<typeof RoundStore>[0]

const errorText = (err: unknown): string => (err instanceof BaseError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err))

/** Opens everything, settles genesis, starts the mesh node and the API, and resumes the current round. */
export async function startGatewayDaemon(config: GatewayConfig, options: StartGatewayDaemonOptions = {}): Promise<GatewayDaemon> {
  const logger = options.logger ?? pino({ enabled: false })
  const closers: (() => Promise<unknown>)[] = []
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ err: errorText(err) }, 'close failed'))
    closers.length = 0
  }
  try {
    return await open(config, options, logger, closers, closeAll)
  } catch (err) {
    await closeAll()
    throw err
  }
}

async function open(
  config: GatewayConfig,
  options: StartGatewayDaemonOptions,
  logger: Logger,
  closers: (() => Promise<unknown>)[],
  closeAll: () => Promise<void>,
): Promise<GatewayDaemon> {
  const log = logger.child({ component: 'gateway:daemon' })
  const now = (): number => Math.floor(options.now?.() ?? Date.now() / 1000)
  const fleet: FleetFile = await readFleetFile(config.fleetFile)
  const rpcUrl = fleet.chain.rpcUrl
  if (rpcUrl === undefined) throw new ConfigError(config.fleetFile, 'chain.rpcUrl', 'the gateway daemon needs a JSON-RPC URL (an embedded EVM lives in one process only)')
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })

  const keyStore: KeyStore = await openKeyStore(config.keyStore, { logger })
  closers.push(() => keyStore.close())
  const signer: KeySigner = await keyStore.open(config.keyLabel)
  const account = signerToAccount({ signer })
  if (!fleet.gateways.some((g) => isAddressEqual(g.address, signer.address)))
    log.warn({ gateway: signer.address }, 'this gateway is not listed in fleet.json: agents that trust only listed gateways ignore its announcements')

  const connection: ChainConnection = await connectChain({ config: { rpcUrl, chainId: fleet.chain.chainId, confirmations: fleet.chain.confirmations }, logger })
  closers.push(() => connection.close())
  const client = connection.publicClient
  const fromBlock = BigInt(fleet.contracts.deployedAt)

  const db = new Level<string, unknown>(join(config.dataDir, DB_DIR))
  await db.open()
  closers.push(() => db.close())
  // Level's own type narrows the key encodings that the stores' abstract-level type spells out in full.
  const store = new RoundStore(db as unknown as Db)
  const scores = db.sublevel<string, number>(SCORES_SUBLEVEL, { valueEncoding: 'json' })
  const modelBlobs = new LevelBlobStore({ db: db as unknown as Db, name: 'published-models' })
  const recordBlobs = new LevelBlobStore({ db: db as unknown as Db, name: 'published-records' })
  const publisher = new Publisher({ directory: join(config.dataDir, PUBLISHED_DIR), models: modelBlobs, records: recordBlobs })
  await publisher.init()

  // The initial model, kept and published before anything refers to it.
  const initialBytes = await loadInitialModel(config)
  const initialModel = contentId(initialBytes)
  await store.putModel(initialModel, initialBytes)
  await publisher.publish('model', initialBytes, initialModel)

  let evaluator: ValidationEvaluator | undefined
  if (config.validation !== undefined) {
    const { csv, labelColumn, engine } = config.validation
    const validation = await readValidationCsv({ file: csv, label: labelColumn, maxBytes: VALIDATION_MAX_BYTES, maxRows: VALIDATION_MAX_ROWS })
    evaluator = createValidationEvaluator({ validation, createEngine: () => createEngine({ engine }) })
    log.info({ file: csv, samples: validation.labels.length, features: validation.width }, 'validation set loaded')
  }
  const stopping = new AbortController()
  /** Accuracy of a model on the validation set, computed once per model and kept. */
  const accuracyOf = async (model: Hex, bytes?: Uint8Array): Promise<number | null> => {
    if (evaluator === undefined) return null
    const cached = await scores.get(model.toLowerCase())
    if (cached !== undefined) return cached
    const modelBytes = bytes ?? (await store.model(model))
    if (modelBytes === undefined) return null
    const score = await evaluator(modelBytes, { signal: stopping.signal })
    await scores.put(model.toLowerCase(), score)
    return score
  }

  // Genesis: round 0 settles the initial model, so that it passes the provenance check.
  const journal = new FileSettlementJournal(join(config.dataDir, JOURNAL_DIR))
  const genesisDoc = genesisDocument(fleet.fleet, initialModel)
  await publisher.publish('record', genesisDoc.bytes, genesisDoc.hash)
  const genesis = await settleGenesis(connection, { gateway: account, ledger: fleet.contracts.ledger, fleet: fleet.fleet, model: initialModel, journal, fromBlock, signal: stopping.signal })
  const genesisOnChain = await readRoundSettlement(client, { ledger: fleet.contracts.ledger, round: genesis.round, fromBlock })
  const genesisTx = genesisOnChain.settled ? genesisOnChain.transactionHash : null
  log.info({ model: initialModel, round: genesis.round.toString(), status: genesis.status, transactionHash: genesisTx }, 'genesis settled')
  const genesisAccuracy = await accuracyOf(initialModel, initialBytes)

  const registry = new ChainRegistry({ client, registry: fleet.contracts.registry })
  const gateways = [...new Set([...fleet.gateways.map((g) => g.address), getAddress(signer.address)])]
  // eslint-disable-next-line prefer-const -- assigned once below; handlers defined before then refer to it
  let mesh: MeshNode | undefined
  const updateStats = { accepted: 0, rejected: {} as Record<string, number> }
  // eslint-disable-next-line prefer-const -- assigned once below; handlers defined before then refer to it
  let metrics: GatewayMetrics | undefined
  const count = (reason: string): void => {
    updateStats.rejected[reason] = (updateStats.rejected[reason] ?? 0) + 1
    metrics?.rejected(reason)
  }
  const reject = (reason: string, detail: string, submission: Pick<VerifiedSubmission, 'attestation'>): UpdateDecision => {
    count(reason)
    log.info({ round: submission.attestation.message.round.toString(), device: submission.attestation.message.device, reason, detail }, 'update rejected')
    return { accepted: false, reason }
  }

  /** The trainable tensors of a model, in canonical order: what an update must match. */
  const specs = new Map<Hex, TensorSpec[]>()
  const specsOf = async (model: Hex): Promise<TensorSpec[]> => {
    const known = specs.get(model)
    if (known !== undefined) return known
    const bytes = await store.model(model)
    if (bytes === undefined) throw new RoundStateError(undefined, undefined, `model ${model} is not in the store`)
    const tensors = sortByName(readInitializers(decodeModel(bytes), { floatOnly: true })).map((t) => ({ name: t.name, shape: [...t.shape] }))
    specs.clear()
    specs.set(model, tensors)
    return tensors
  }

  // eslint-disable-next-line prefer-const -- assigned once below; handlers defined before then refer to it
  let runner: RoundRunner | undefined
  let wake: () => void = () => undefined

  /** What an update is verified against: the current round, its participants, its model. */
  const verificationContext = async (meta: RoundMeta | undefined): Promise<VerificationContext> => ({
    domain: fleet.domain,
    fleet: fleet.fleet,
    owner: fleet.owner,
    registry,
    round:
      meta === undefined
        ? undefined
        : { round: BigInt(meta.round), open: meta.state === 'collecting' && now() < meta.deadline, baseModel: meta.baseModel, participants: meta.participants },
    model: meta === undefined ? [] : await specsOf(meta.baseModel),
    limits: config.rounds.verification,
    seen: (hash) => store.seen(hash),
    now,
  })

  /** Decides from the header alone, before the update is read: a resend, or a refusal (not selected, closed, …). */
  const admitUpdate = async (header: VerifiedHeader): Promise<UpdateDecision | undefined> => {
    if (await store.seen(header.attestationHash)) return { accepted: true, reason: '' }
    const verdict = await verifyHeader(header, header.peerId, await verificationContext(await store.current()))
    return verdict.accepted ? undefined : reject(verdict.reason, verdict.detail, header)
  }

  /** The update protocol's handler: verify, keep, answer. Idempotent per attestation. */
  const handleUpdate = async (submission: VerifiedSubmission): Promise<UpdateDecision> => {
    // A resend of an update already kept (its receipt was lost) is accepted again, and not counted twice.
    if (await store.seen(submission.attestationHash)) return { accepted: true, reason: '' }
    const meta = await store.current()
    const verdict = await verifySubmission(submission, submission.peerId, await verificationContext(meta))
    if (!verdict.accepted) return reject(verdict.reason, verdict.detail, submission)
    const round = BigInt((meta as RoundMeta).round)
    let result: { stored: boolean; quorum: boolean }
    try {
      result = await (runner as RoundRunner).accept(round, verdict.device, verdict.attestationHash, submission.encoded)
    } catch (err) {
      // The round stopped collecting between the check and the write.
      if (err instanceof RoundStateError) return reject('round-closed', err.message, submission)
      throw err
    }
    if (!result.stored) return reject('replay', 'this device already contributed to the round with another attestation', submission)
    updateStats.accepted++
    metrics?.accepted()
    log.info({ round: round.toString(), device: verdict.device, norm: verdict.norm, quorum: result.quorum }, 'update accepted')
    if (result.quorum) wake()
    return { accepted: true, reason: '' }
  }

  const rootToSettle = settledRoot({ client, fleet, fromBlock, fetchBlob: async (hash) => (await store.model(hash)) ?? (await publisher.read(hash)) })

  /** Publishes what a round made: the new model, its record, the updates and optimiser state it references. */
  const publishRound = async (meta: RoundMeta): Promise<void> => {
    const result = meta.result
    if (result === undefined) return
    for (const [kind, hash] of [
      ['model', meta.baseModel],
      ['model', result.newModel],
      ['record', result.stateHash],
      ['record', result.recordHash],
    ] as const) {
      if (hash === undefined) continue
      const bytes = await store.model(hash)
      if (bytes === undefined) throw new RoundStateError(BigInt(meta.round), meta.state, `blob ${hash} is not in the store`)
      await publisher.publish(kind, bytes, hash)
    }
    for await (const bytes of store.updates(BigInt(meta.round))) await publisher.publish('record', decodeSubmission(bytes).update)
  }

  let lastModelAnnouncedAt = 0
  const announceModel = async (model: Hex): Promise<void> => {
    lastModelAnnouncedAt = now()
    try {
      const peers = await (mesh as MeshNode).announceModel(model)
      log.info({ model, peers }, 'model availability announced')
    } catch (err) {
      log.warn({ model, err: errorText(err) }, 'model availability not announced')
    }
  }

  let lastError: string | null = null
  let lastFinishedAt = now()
  let lastAnnouncedAt = 0
  let currentModel = initialModel

  runner = new RoundRunner({
    store,
    domain: fleet.domain,
    fleet: fleet.fleet,
    gateway: signer,
    owner: fleet.owner,
    rewardTotal: BigInt(config.rounds.rewardTotal),
    evaluationMargin: config.rounds.evaluationMargin,
    strategy: (s) => strategyFor(s.name, s.params),
    announce: async (announcement) => {
      lastAnnouncedAt = now()
      const peers = await (mesh as MeshNode).publishAnnouncement(announcement)
      log.info({ round: announcement.message.round.toString(), baseModel: announcement.message.baseModel, peers }, 'round announced')
    },
    ...(evaluator === undefined
      ? {}
      : {
          evaluate: async (bytes: Uint8Array) => {
            const score = await accuracyOf(contentId(bytes), bytes)
            return score ?? 0
          },
        }),
    settle: async (meta) => {
      const result = meta.result
      if (result === undefined) throw new RoundStateError(BigInt(meta.round), meta.state, 'no aggregation result to settle')
      // The RoundLedger refuses an empty contributions root: a round nobody contributed to changes
      // nothing and pays nobody, so it is not settled.
      if (meta.accepted < minUpdatesOf(meta.config)) return { status: 'skipped', reason: meta.accepted === 0 ? 'no contributions' : `${meta.accepted} updates, fewer than minUpdates (${minUpdatesOf(meta.config)})` }
      const settled = await settleRound(connection, {
        gateway: account,
        ledger: fleet.contracts.ledger,
        journal,
        fromBlock,
        signal: stopping.signal,
        settlement: {
          fleet: fleet.fleet,
          round: BigInt(meta.round),
          parentModel: meta.baseModel,
          newModel: result.newModel,
          contributionsRoot: await rootToSettle(BigInt(meta.round), result, stopping.signal),
          rewardTotal: BigInt(result.rewardTotal),
          recordHash: result.recordHash,
        },
      })
      return {
        status: settled.status,
        ...(settled.transactionHash === undefined ? {} : { transactionHash: settled.transactionHash }),
        ...(settled.blockNumber === undefined ? {} : { blockNumber: settled.blockNumber.toString() }),
      }
    },
    onState: async (meta) => {
      await activity.roundState(meta)
      metrics?.roundState(BigInt(meta.round), meta.state, true)
      log.info({ round: meta.round, state: meta.state, accepted: meta.accepted, participants: meta.participants.length }, 'round state')
      // The record and everything it references are public before the round is settled.
      if (meta.state === 'settling' || meta.state === 'done') await publishRound(meta)
      if (meta.state === 'done' && meta.result !== undefined) {
        lastFinishedAt = now()
        currentModel = meta.result.newModel
        const accuracy = await accuracyOf(currentModel).catch((err: unknown) => {
          log.warn({ err: errorText(err) }, 'evaluation failed')
          return null
        })
        if (accuracy !== null) metrics?.accuracy(accuracy)
        log.info({ round: meta.round, newModel: currentModel, keptParent: meta.result.keptParent, accuracy, settlement: meta.settlement }, 'round done')
        if (!meta.result.keptParent) await announceModel(currentModel)
      }
    },
    now,
    logger,
  })

  // The last settled model: the last finished round's, or the base of the round a restart finds
  // under way (its parent was settled before it started), never the initial model after round 1.
  const last = await store.current()
  currentModel = lastSettledModel(last, initialModel)

  const activity = new DeviceActivity({ store: db.sublevel<string, RoundActivity>('dashboard-rounds', { valueEncoding: 'json' }), now, logger })
  const privateKey: PrivateKey = await loadTransportKey({ dir: config.dataDir })
  mesh = await createMeshNode({
    role: 'gateway',
    privateKey,
    fleet: fleet.fleet,
    domain: fleet.domain,
    gateways,
    modelStore: modelBlobs,
    recordStore: recordBlobs,
    listen: config.listen,
    mdns: config.mdns,
    // Refusals before the handler (unbound peer, bad signature, frame cap, time-out, capacity) count too.
    gateway: { owner: fleet.owner, signer, handler: activity.handler(handleUpdate), admit: activity.admit(admitUpdate), onRefusal: activity.refusal((r) => count(r.reason)) },
    ...(config.limits === undefined ? {} : { limits: meshLimits(config.limits) }),
    logger,
  })
  await mesh.start()
  closers.push(() => (mesh as MeshNode).stop())
  const node = mesh
  const peerId = node.peerId.toString()
  const multiaddrs = (): string[] => node.multiaddrs.map(String)

  metrics = new GatewayMetrics({ peers: () => node.libp2p.getPeers().length, ...(node.updates === undefined ? {} : { updates: () => (node.updates as UpdateService).stats() }) })
  if (last !== undefined) metrics.roundState(BigInt(last.round), last.state, false)
  const currentAccuracy = await accuracyOf(currentModel)
  if (currentAccuracy !== null) metrics.accuracy(currentAccuracy)
  await announceModel(currentModel)

  // --- rounds: start, finish when due, resume after failures ------------------------------------
  let busy: string | undefined
  let operation: Promise<unknown> = Promise.resolve()
  let retryAt = 0
  let backoff = ROUND_RETRY_MIN_MS
  let stoppingNow = false

  /** Marks the daemon busy with one round operation at a time; stop() waits for it. */
  const guard = <T>(label: string, work: () => Promise<T>): Promise<T> => {
    busy = label
    const running = work()
    // `operation` settles only once the daemon is free again.
    operation = running
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        busy = undefined
      })
    return running
  }
  const succeeded = (): void => {
    backoff = ROUND_RETRY_MIN_MS
    retryAt = 0
    lastError = null
  }
  const failed = (label: string) => (err: unknown): void => {
    lastError = errorText(err)
    if (stopping.signal.aborted) return
    retryAt = Date.now() + backoff
    log.error({ err: lastError, retryInMs: backoff }, `round ${label} failed; retrying`)
    backoff = Math.min(backoff * 2, ROUND_RETRY_MAX_MS)
  }

  const startRound = async (): Promise<RoundMeta> => {
    if (stoppingNow) throw new RoundRunningError(undefined, 'stopping')
    // A round that is done may still be finishing its last steps (publishing, announcing its
    // model): a start asked for then waits for them rather than being refused.
    if (busy !== undefined && (await store.current())?.state === 'done') await operation
    if (busy !== undefined) throw new RoundRunningError(undefined, busy)
    const current = await store.current()
    if (current !== undefined && current.state !== 'done') throw new RoundRunningError(current.round, current.state)
    if (busy !== undefined) throw new RoundRunningError(undefined, busy)
    return guard('starting', async () => {
      // Read at one block, which the announcement names, so that anyone can recompute the selection.
      const eligibleBlock = await client.getBlockNumber({ cacheTime: 0 })
      const devices = (await listFleetDevices(client, { registry: fleet.contracts.registry, fromBlock, toBlock: eligibleBlock })).filter((d) => d.status === 'registered').map((d) => d.device)
      if (devices.length === 0) throw new NoEligibleDevicesError(fleet.contracts.registry)
      const round = current === undefined ? 1n : BigInt(current.round) + 1n
      const baseModel = current?.result?.newModel ?? initialModel
      const baseBytes = await store.model(baseModel)
      if (baseBytes === undefined) throw new RoundStateError(round, undefined, `base model ${baseModel} is not in the store`)
      const meta = await (runner as RoundRunner).start({ round, baseModel: baseBytes, config: config.rounds.config, eligible: devices, eligibleBlock })
      log.info({ round: meta.round, eligible: devices.length, participants: meta.participants.length, deadline: meta.deadline }, 'round started')
      return meta
    })
  }

  let schedule = config.rounds.schedule
  const tick = async (): Promise<void> => {
    if (stoppingNow || busy !== undefined || Date.now() < retryAt) return
    const meta = await store.current()
    const r = runner as RoundRunner
    if (meta === undefined || meta.state === 'done') {
      // Between rounds the current model is announced again now and then, so that an agent that
      // joins late loads it (after checking it is settled) without waiting for the next round.
      if (config.rounds.reannounceSeconds > 0 && now() >= lastModelAnnouncedAt + config.rounds.reannounceSeconds) await announceModel(currentModel)
      if (schedule.mode !== 'interval' || now() < lastFinishedAt + schedule.intervalSeconds) return
      const next = meta === undefined ? 1 : Number(meta.round) + 1
      if (schedule.maxRounds !== undefined && next > schedule.maxRounds) return
      await startRound().then(succeeded, failed('start'))
      return
    }
    const round = BigInt(meta.round)
    if (meta.state === 'collecting') {
      if (await r.due(round)) {
        await guard('finish', () => r.finish(round)).then(succeeded, failed('finish'))
        return
      }
      if (config.rounds.reannounceSeconds > 0 && now() >= lastAnnouncedAt + config.rounds.reannounceSeconds) {
        lastAnnouncedAt = now()
        await node.publishAnnouncement(announcementOf(meta)).catch((err: unknown) => log.warn({ err: errorText(err) }, 're-announcement failed'))
      }
      return
    }
    // open, aggregating or settling: a restart, or an operation that failed; take it up again.
    await guard('resume', () => r.resume()).then(succeeded, failed('resume'))
  }
  const ticking = { running: false }
  const onTick = (): void => {
    if (ticking.running) return
    ticking.running = true
    tick()
      .catch((err: unknown) => log.error({ err: errorText(err) }, 'round tick failed'))
      .finally(() => {
        ticking.running = false
      })
  }
  wake = () => setImmediate(onTick)
  const timer = setInterval(onTick, ROUND_TICK_MS)

  // --- API -----------------------------------------------------------------------------------------
  const status = async (): Promise<GatewayStatus> => {
    const current = await store.current()
    const rounds = await roundSummaries(store, current, (model) => (evaluator === undefined ? undefined : scores.get(model.toLowerCase())))
    const running = current !== undefined && current.state !== 'done'
    const modelAccuracy = evaluator === undefined ? null : ((await scores.get(currentModel.toLowerCase())) ?? null)
    return {
      gateway: signer.address,
      fleet: fleet.fleet,
      peerId,
      multiaddrs: multiaddrs(),
      pid: process.pid,
      state: stoppingNow ? 'stopping' : running ? current.state : 'idle',
      round: running ? Number(current.round) : null,
      model: { hash: currentModel, accuracy: modelAccuracy },
      genesis: { model: initialModel, recordHash: genesisDoc.hash, settlementTx: genesisTx, accuracy: genesisAccuracy },
      mesh: { peers: node.libp2p.getPeers().length, subscribers: node.libp2p.services.pubsub.getSubscribers(node.topics.rounds).length },
      updates: { accepted: updateStats.accepted, rejected: { ...updateStats.rejected } },
      schedule,
      lastError,
      rounds,
    }
  }

  const dashboard = createDashboard({
    ...{ logger, fleet, store, client, journal, activity, now, status, gateway: signer.address, metrics: (metrics as GatewayMetrics).registry },
    operators: [fleet.owner, ...fleet.operators],
    keyStoreKind: config.keyStore.kind,
    secure: config.api.tls !== undefined,
    connectedPeers: () => new Set(node.libp2p.getConnections().map((c) => c.remotePeer.toString())),
    accuracyOf: async (model) => (evaluator === undefined ? null : ((await scores.get(model.toLowerCase())) ?? null)),
    startRound: async () => ({ round: Number((await startRound()).round) }),
    setSchedule: (next) => (schedule = next),
    subscribe: (listener) => (node.addEventListener('event', listener), () => node.removeEventListener('event', listener)),
  })
  dashboard.start()
  closers.push(async () => dashboard.stop())
  const api: HttpApi = await startHttpApi({
    host: config.api.host,
    port: config.api.port,
    fallback: dashboard.handle,
    ...(config.api.tls === undefined ? {} : { tls: config.api.tls }),
    logger,
    handlers: {
      status,
      startRound: async () => {
        const meta = await startRound()
        return { round: Number(meta.round), state: meta.state, deadline: meta.deadline, participants: meta.participants.length, baseModel: meta.baseModel }
      },
      metrics: () => (metrics as GatewayMetrics).render(),
    },
  })
  closers.push(() => api.close())

  const apiFile = join(config.dataDir, API_FILE)
  const apiInfo: ApiFile = { url: api.url, pid: process.pid, peerId, multiaddrs: multiaddrs() }
  await writeJsonConfig(apiFile, apiInfo)
  closers.push(async () => {
    // Only our own api.json goes: a second daemon on the same directory never got this far (level is locked).
    const onDisk = await readJsonConfig(apiFile, (v) => v as Partial<ApiFile>).catch(() => undefined)
    if (onDisk?.pid === process.pid) await rm(apiFile, { force: true })
  })
  log.info({ api: api.url, peerId, multiaddrs: apiInfo.multiaddrs, gateway: signer.address, model: currentModel }, 'gateway started')
  onTick()

  let stopped: Promise<void> | undefined
  return {
    url: api.url,
    peerId,
    multiaddrs: multiaddrs(),
    status,
    startRound,
    stop() {
      stopped ??= (async () => {
        stoppingNow = true
        clearInterval(timer)
        log.info('gateway stopping')
        // An aggregation finishes (it is bounded); a settlement waiting on the chain is abandoned
        // and taken up again, from its journal, on the next start.
        stopping.abort(new Error('the gateway is stopping'))
        await operation
        await closeAll()
        log.info('gateway stopped')
      })()
      return stopped
    },
  }
}

/** The configured mesh limits, without the keys the file leaves out. */
function meshLimits(limits: NonNullable<GatewayConfig['limits']>): MeshLimits {
  // gateway.json's limit keys are MeshLimits keys of the same meaning (config.ts); only undefined ones go.
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as MeshLimits
}
