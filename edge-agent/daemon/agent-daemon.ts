// The agent daemon (`cw agent start`): one process on a board that
//   - reads its sensors (the bundle's), cuts them into windows and runs each through the current
//     model; results are logged, and published as signed InferenceAttestations at a set rate;
//   - keeps the windows as samples in its local dataset (level, capped in bytes);
//   - takes part in rounds announced by an authorised gateway: fetches the base model by hash,
//     trains it on its samples with the announced hyper-parameters, signs the update with its
//     hardware-held key and queues it in the outbox until a signed Receipt comes back;
//   - swaps to a new model only when the fleet's RoundLedger says it was settled, and only when it
//     is not worse on the device's own validation split (by more than rollbackMargin);
//   - writes `<dataDir>/status.json` for `cw agent status` and for supervisors.
// Everything it must remember lives in its data directory, so a kill -9 loses nothing signed.
import { mkdir } from 'node:fs/promises'
import { freemem } from 'node:os'
import { join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Level } from 'level'
import { pino, type Logger } from 'pino'
import { bootstrapTargets } from './bootstrap-targets.js'
import { isAddressEqual, type Address, type Hex } from 'viem'
import {
  BaseError,
  ConfigError,
  contentId,
  decodeModel,
  hashMessage,
  localTrainingOf,
  parseRoundParams,
  parseRoundPrivacy,
  signInferenceAttestation,
  signUpdateAttestation,
  type Signed,
} from '../../protocols/index.js'
import { createMeshNode, type MeshNode } from '../../protocols/mesh/index.js'
import { certificateOf, createEngine, loadTransportKey, openKeyStore, writeJsonConfig, type KeySigner, type KeyStore } from '../../hardware/index.js'
import { LevelBlobStore } from '../../hardware/storage/index.js'
import { startTechnicianConsole } from '../console/index.js'
import { SampleStore, type Sample, type StoredSample } from '../dataset/index.js'
import { OutboxFullError } from '../errors.js'
import { Outbox, type DeadLetter, type OutboxEntry, type OutboxSend } from '../outbox/index.js'
import { engineRunner, type GraphRunnerFactory } from '../training/index.js'
import type { AgentBundle } from './agent-bundle.js'
import { AgentState, FINAL_ROUND_STATUSES, type RoundEntry } from './agent-state.js'
import type { AgentConfig } from './config.js'
import {
  DATASET_DIR,
  GATEWAY_REDIAL_MS,
  MAX_CACHED_MODELS,
  MAX_REFUSED_MODELS,
  MODEL_FETCH_TIMEOUT_MS,
  MODELS_DIR,
  OUTBOX_BACKOFF_BASE_MS,
  OUTBOX_BACKOFF_MAX_MS,
  OUTBOX_DIR,
  REFUSED_NOT_SETTLED_MS,
  REFUSED_WORSE_MS,
  ROUND_RETRY_MS,
  SAMPLE_FLUSH_COUNT,
  SAMPLE_FLUSH_MS,
  SEQUENCE_BLOCK,
  PRIVACY_FILE,
  STATE_FILE,
  STATUS_DEBOUNCE_MS,
  STOP_STEP_TIMEOUT_MS,
} from './constants.js'
import { LoadedModel, topClass } from './inference-model.js'
import { modelIo, trainLocalRound } from './local-training.js'
import { scoreModel } from './model-score.js'
import { ModelProvenance } from './provenance.js'
import { PrivacyBudget, type PrivacyBudgetStatus } from './privacy-budget.js'
import { SensorPipeline, type SensorState, type WindowSample } from './sensor-pipeline.js'
import { isValidationSample, seedOf } from './stable-split.js'

export type AgentRunState = 'starting' | 'waiting-for-model' | 'running' | 'fetching' | 'training' | 'stopping' | 'stopped'

export interface RefusedModel {
  model: Hex
  reason: 'not-settled' | 'worse' | 'invalid'
  detail?: string
  /** Unix ms. */
  at: number
}

/** The content of `<dataDir>/status.json` (and of `cw agent status --json`). */
export interface AgentStatus {
  version: 1
  device: Address
  fleet: Hex
  peerId: string
  multiaddrs: string[]
  pid: number
  state: AgentRunState
  /** The model inference runs on, or null before the first settled model arrives. */
  model: Hex | null
  /** The round that settled it. */
  modelRound: string | null
  /** Samples in the local dataset. */
  samples: number
  dataset: { samples: number; bytes: number; maxBytes: number; classes: Record<string, number>; unlabelled: number }
  inference: { runs: number; skipped: number; attestations: number; last: { class: string | null; value: number; time: number } | null }
  /** The last round entries, oldest first. */
  rounds: RoundEntry[]
  outbox: { pending: number; dead: number; bytes: number; maxBytes: number }
  refused: RefusedModel[]
  mesh: { peers: number; gateways: number }
  /** Non-null once a gateway's signed receipt said the device is revoked: training stopped, inference goes on. */
  revoked: { round: string; at: number } | null
  sensors: SensorState[]
  /** Differential privacy: ε spent over the DP rounds this device took part in, and left of its budget. */
  privacy: PrivacyBudgetStatus
  /** Unix ms of the process start and of this status. */
  startedAt: number
  updatedAt: number
}

export interface AgentDaemon {
  readonly peerId: string
  readonly multiaddrs: string[]
  status(): AgentStatus
  stop(): Promise<void>
}

export interface StartAgentDaemonOptions {
  logger?: Logger
}

const errorText = (err: unknown): string => (err instanceof BaseError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err))
const isAbort = (err: unknown): boolean => err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')
const bytesOf = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

class RoundSkip extends Error {
  constructor(readonly reason: string) {
    super(reason)
  }
}

/** Opens everything the daemon needs, starts sensing and the mesh; resolves once it is running. */
export async function startAgentDaemon(agent: AgentBundle, options: StartAgentDaemonOptions = {}): Promise<AgentDaemon> {
  const logger = options.logger ?? pino({ enabled: false })
  const closers: (() => Promise<unknown>)[] = []
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ err: errorText(err) }, 'close failed'))
    closers.length = 0
  }
  try {
    return await open(agent, logger, closers, closeAll)
  } catch (err) {
    await closeAll()
    throw err
  }
}

async function open(agent: AgentBundle, logger: Logger, closers: (() => Promise<unknown>)[], closeAll: () => Promise<void>): Promise<AgentDaemon> {
  const { bundle, config, file } = agent
  const fleet = bundle.fleet
  const log = logger.child({ component: 'agent:daemon' })
  const startedAt = Date.now()
  const dataDir = config.dataDir
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const certificate = certificateOf(bundle, file)

  // Sensors are made (and their configurations checked) before anything opens.
  const pipeline = new SensorPipeline({
    sensors: bundle.sensors,
    baseDir: agent.baseDir,
    file,
    labelChannel: config.labelChannel,
    windowSize: config.windowSize,
    ...(config.windowHop === undefined ? {} : { windowHop: config.windowHop }),
    layout: config.layout,
    inputScaling: config.inputScaling,
    logger,
    onSample: (sample) => onSample(sample),
    onEnded: (id) => {
      // Samples of the whole recording are stored before it is marked played.
      void flushSamples()
        .then(() => state.update((data) => void (data.endedSensors = [...new Set([...data.endedSensors, id])])))
        .catch((err: unknown) => log.warn({ sensor: id, err: errorText(err) }, 'sensor end not recorded'))
    },
  })

  // --- identity: the device key (signs), the transport key (libp2p) ------------------------------
  const keyStore: KeyStore = await openKeyStore(bundle.keyStore, { logger })
  closers.push(() => keyStore.close())
  const signer: KeySigner = await keyStore.open(bundle.keyLabel)
  if (!isAddressEqual(signer.address, bundle.device)) throw new ConfigError(file, 'keyLabel', `the key ${bundle.keyLabel} is ${signer.address}, the bundle's device is ${bundle.device}`)
  const privateKey = await loadTransportKey({ dir: bundle.transportKeyDir })

  // --- local state ---------------------------------------------------------------------------------
  const state = await AgentState.open(join(dataDir, STATE_FILE), log)
  closers.push(() => state.flush())
  const privacyBudget = await PrivacyBudget.open({ file: join(dataDir, PRIVACY_FILE), policy: config.privacy, logger })
  closers.push(() => privacyBudget.flush())
  const dataset = await SampleStore.open({ location: join(dataDir, DATASET_DIR), maxBytes: config.caps.datasetBytes, logger })
  closers.push(() => dataset.close())
  const modelsDb = new Level<string, unknown>(join(dataDir, MODELS_DIR))
  await modelsDb.open()
  closers.push(() => modelsDb.close())
  // Level's own type narrows the key encodings that the blob store's abstract-level type spells out in full.
  const modelStore = new LevelBlobStore({ db: modelsDb as unknown as ConstructorParameters<typeof LevelBlobStore>[0]['db'], name: 'models' })
  // parseAgentBundle refused a fleet file without one.
  const rpcUrl = fleet.chain.rpcUrl as string
  const provenance = new ModelProvenance({ rpcUrl, chainId: fleet.chain.chainId, ledger: fleet.contracts.ledger, logger })

  const engineOf = config.engine
  const inferenceEngine = () => createEngine({ engine: engineOf, threads: config.inferenceThreads })
  const trainingRunner: GraphRunnerFactory = engineRunner(() => createEngine({ engine: engineOf, threads: config.training.threads }))
  const seed = seedOf(bundle.device)

  // --- mesh ------------------------------------------------------------------------------------------
  const gateways = fleet.gateways.map((g) => g.address)
  const dialTargets = bootstrapTargets({ file, addresses: [...bundle.bootstrap, ...fleet.gateways.flatMap((g) => g.multiaddrs)], logger: logger.child({ component: 'agent:bootstrap' }) })
  const mesh: MeshNode = await createMeshNode({
    role: 'agent',
    privateKey,
    fleet: fleet.fleet,
    domain: fleet.domain,
    gateways,
    modelStore,
    listen: config.listen,
    bootstrap: dialTargets.map(String),
    mdns: config.mdns,
    logger,
  })
  if (mesh.peerId.toString() !== bundle.peerId)
    throw new ConfigError(file, 'transportKeyDir', `the transport key there is peer ${mesh.peerId.toString()}, the certificate names ${bundle.peerId}`)

  /** Gateways' peers, learnt from their announcements: where updates go first. */
  const announcers = new Map<string, PeerId>()
  const send: OutboxSend = async (submission, { signal }) => {
    const connected = new Set(mesh.libp2p.getPeers().map(String))
    const targets: (PeerId | Multiaddr)[] = [...[...announcers.values()].filter((p) => connected.has(p.toString())), ...dialTargets, ...announcers.values()]
    let lastError: unknown = new Error('no gateway known yet')
    for (const target of targets) {
      signal.throwIfAborted()
      try {
        return await mesh.submitUpdate(target, submission, { signal })
      } catch (err) {
        lastError = err
      }
    }
    throw lastError
  }
  const outbox = await Outbox.open({
    location: join(dataDir, OUTBOX_DIR),
    domain: fleet.domain,
    gateways,
    send,
    logger,
    maxBytes: config.caps.outboxBytes,
    backoffBaseMs: OUTBOX_BACKOFF_BASE_MS,
    backoffMaxMs: OUTBOX_BACKOFF_MAX_MS,
  })
  closers.push(() => outbox.close())
  let deadLetters = (await outbox.deadLetters()).length

  // A round whose update sits in the outbox was signed: it is not trained again after a crash.
  for (const entry of outbox.pending()) {
    const known = state.round(BigInt(entry.round))
    if (known === undefined || !FINAL_ROUND_STATUSES.has(known.status)) await state.setRound(BigInt(entry.round), 'submitted', { attestationHash: entry.attestationHash })
  }

  // --- status ----------------------------------------------------------------------------------------
  let runState: AgentRunState = 'starting'
  let current: LoadedModel | undefined
  const refused = new Map<Hex, RefusedModel>()
  const inference = { runs: 0, skipped: 0, attestations: 0, last: null as AgentStatus['inference']['last'] }

  const status = (): AgentStatus => {
    const counts = dataset.classCounts()
    return {
      version: 1,
      device: bundle.device,
      fleet: fleet.fleet,
      peerId: mesh.peerId.toString(),
      multiaddrs: mesh.multiaddrs.map(String),
      pid: process.pid,
      state: runState,
      model: current?.hash ?? null,
      modelRound: current === undefined ? null : current.round.toString(),
      samples: dataset.size,
      dataset: { samples: dataset.size, bytes: dataset.bytes, maxBytes: dataset.maxBytes, classes: counts.classes, unlabelled: counts.unlabelled },
      inference: { ...inference },
      rounds: state.data.rounds.map((r) => ({ ...r })),
      outbox: { pending: outbox.pending().length, dead: deadLetters, bytes: outbox.bytes, maxBytes: outbox.maxBytes },
      refused: [...refused.values()],
      mesh: { peers: mesh.libp2p.getPeers().length, gateways: [...announcers.values()].filter((p) => mesh.libp2p.getConnections(p).length > 0).length },
      revoked: state.data.revoked,
      sensors: pipeline.states(),
      privacy: privacyBudget.status(),
      startedAt,
      updatedAt: Date.now(),
    }
  }
  let statusWrite: Promise<void> = Promise.resolve()
  let statusTimer: NodeJS.Timeout | undefined
  const writeStatus = (): Promise<void> => {
    clearTimeout(statusTimer)
    statusTimer = undefined
    const snapshot = status()
    statusWrite = statusWrite.then(() => writeJsonConfig(agent.statusFile, snapshot)).catch((err: unknown) => log.warn({ err: errorText(err) }, 'status.json not written'))
    return statusWrite
  }
  /** A change: written within STATUS_DEBOUNCE_MS, several changes together. */
  const changed = (): void => {
    statusTimer ??= setTimeout(() => void writeStatus(), STATUS_DEBOUNCE_MS)
  }
  const setRunState = (next: AgentRunState): void => {
    if (runState === next) return
    runState = next
    changed()
  }
  const idleState = (): AgentRunState => (current === undefined ? 'waiting-for-model' : 'running')

  const stopping = new AbortController()

  // --- the model cache -----------------------------------------------------------------------------------
  /** The bytes of a model, from the cache or fetched from any peer (providers first); the hash is checked. */
  const modelBytes = async (hash: Hex, providers: readonly PeerId[]): Promise<Uint8Array> => {
    if (!(await modelStore.has(hash))) {
      const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(MODEL_FETCH_TIMEOUT_MS)])
      const fetched = await mesh.fetchModel(hash, { providers, signal })
      log.info({ model: hash, size: fetched.size, resumedFrom: fetched.resumedFrom }, 'model fetched')
    }
    const bytes = await modelStore.get(hash)
    if (contentId(bytes) !== hash.toLowerCase()) {
      await modelStore.delete(hash)
      throw new RoundSkip(`model ${hash} in the cache does not match its hash`)
    }
    return bytes
  }
  /** Keeps the current model and the last MAX_CACHED_MODELS others; older ones leave the cache. */
  const remember = async (hash: Hex): Promise<void> => {
    const drop: Hex[] = []
    await state.update((data) => {
      data.cached = [...data.cached.filter((h) => h !== hash), hash].filter((h) => h !== data.model)
      while (data.cached.length > MAX_CACHED_MODELS) drop.push(data.cached.shift() as Hex)
    })
    for (const h of drop) await modelStore.delete(h).catch((err: unknown) => log.warn({ model: h, err: errorText(err) }, 'cached model not deleted'))
  }

  // --- the validation split --------------------------------------------------------------------------------
  const classesFor = (outputSize: number, samples: readonly StoredSample[]): string[] | undefined => {
    if (config.classes !== undefined) return config.classes
    if (!samples.some((s) => s.label !== undefined)) return undefined
    return Array.from({ length: outputSize }, (_, i) => String(i))
  }
  /** Samples usable with a model: the right size and (for a classifier) a known label. */
  const usable = (samples: readonly StoredSample[], sampleSize: number, classes: readonly string[] | undefined): StoredSample[] => {
    const known = classes === undefined ? undefined : new Set(classes)
    return samples.filter((s) => s.features.length === sampleSize && (known === undefined || (s.label !== undefined && known.has(s.label))))
  }
  const splitOf = (samples: readonly StoredSample[]): { train: StoredSample[]; validation: StoredSample[] } => {
    const out = { train: [] as StoredSample[], validation: [] as StoredSample[] }
    for (const s of samples) (isValidationSample(s.seq, seed, config.validationFraction) ? out.validation : out.train).push(s)
    return out
  }

  // --- model swap: provenance, then the device's own validation split ----------------------------------------------
  const refuse = (model: Hex, reason: RefusedModel['reason'], detail?: string): void => {
    if (refused.size >= MAX_REFUSED_MODELS && !refused.has(model)) refused.delete(refused.keys().next().value as Hex)
    refused.set(model, { model, reason, ...(detail === undefined ? {} : { detail }), at: Date.now() })
    changed()
  }
  const stillRefused = (model: Hex): boolean => {
    const r = refused.get(model)
    if (r === undefined) return false
    const wait = r.reason === 'not-settled' ? REFUSED_NOT_SETTLED_MS : REFUSED_WORSE_MS
    return Date.now() - r.at < wait
  }

  let inferenceInFlight: Promise<void> = Promise.resolve()
  const swapTo = async (next: LoadedModel): Promise<void> => {
    const old = current
    current = next // the next window runs on the new model; the one in flight finishes on the old
    await state.update((data) => {
      data.model = next.hash
      data.modelRound = next.round.toString()
      if (old !== undefined) data.cached = [...data.cached.filter((h) => h !== old.hash && h !== next.hash), old.hash]
    })
    if (old !== undefined) await remember(old.hash)
    setRunState(runState === 'running' || runState === 'waiting-for-model' ? 'running' : runState)
    log.info({ model: next.hash, round: next.round.toString(), previous: old?.hash ?? null }, 'model swapped')
    if (old !== undefined) {
      await inferenceInFlight
      await old.dispose()
    }
  }

  let considering: Promise<void> = Promise.resolve()
  /** Looks at a model offered by the fleet (announced, or a round's base) and swaps to it when it is settled, newer and not worse here. */
  const considerModel = (hash: Hex, providers: readonly PeerId[]): Promise<void> => {
    const run = considering.then(async () => {
      const model = hash.toLowerCase() as Hex
      if (stopping.signal.aborted || current?.hash === model || stillRefused(model)) return
      const verdict = await provenance.check(model, { signal: stopping.signal })
      if (!verdict.settled) {
        if (verdict.reason === 'not-settled') {
          if (!refused.has(model) || !stillRefused(model)) log.warn({ model, reason: 'not-settled' }, 'model refused: not settled on chain; keeping the current model')
          refuse(model, 'not-settled')
        }
        return
      }
      if (current !== undefined && verdict.round <= current.round) return // an older settlement than the one running
      const bytes = await modelBytes(model, providers)
      const candidate = await LoadedModel.load(bytes, model, verdict.round, inferenceEngine)
      if (current !== undefined) {
        const all = await dataset.all({ signal: stopping.signal })
        const classes = classesFor(current.io.outputSize, all)
        const validation = splitOf(usable(all, current.io.sampleSize, classes)).validation
        if (validation.length > 0 && candidate.io.sampleSize === current.io.sampleSize) {
          const currentBytes = await modelStore.get(current.hash)
          const [was, now] = [await scoreModel({ model: currentBytes, samples: validation, classes, signal: stopping.signal }), await scoreModel({ model: bytes, samples: validation, classes, signal: stopping.signal })]
          if (now < was - config.rollbackMargin) {
            await candidate.dispose()
            log.warn({ model, score: now, current: current.hash, currentScore: was, margin: config.rollbackMargin, samples: validation.length }, 'model refused: worse on this device’s validation split; keeping the current model')
            refuse(model, 'worse', `${now.toFixed(4)} < ${was.toFixed(4)} - ${config.rollbackMargin}`)
            return
          }
          log.info({ model, score: now, currentScore: was, samples: validation.length }, 'model scored on the validation split')
        }
      }
      await swapTo(candidate)
    })
    considering = run.catch((err: unknown) => {
      if (!stopping.signal.aborted) log.warn({ model: hash, err: errorText(err) }, 'model not adopted')
    })
    return considering
  }

  // The model from the last run, if it is still in the cache (it was settled when it was adopted).
  if (state.data.model !== null && state.data.modelRound !== null) {
    try {
      const bytes = await modelStore.get(state.data.model)
      current = await LoadedModel.load(bytes, state.data.model, BigInt(state.data.modelRound), inferenceEngine)
      log.info({ model: current.hash, round: state.data.modelRound }, 'model loaded from the cache')
    } catch (err) {
      log.warn({ model: state.data.model, err: errorText(err) }, 'the last model cannot be loaded; waiting for the fleet’s')
    }
  }
  closers.push(async () => {
    await inferenceInFlight
    await current?.dispose()
  })

  // --- sensing, inference, the dataset --------------------------------------------------------------------
  let nextSequence = state.data.sequence
  let reservedUpTo = state.data.sequence
  let reserving: Promise<void> | undefined
  const minAttestationGapMs = config.attestations.perMinute === 0 ? Number.POSITIVE_INFINITY : 60_000 / config.attestations.perMinute
  let lastAttestationAt = 0
  let sizeWarned = false

  const attest = async (model: Hex, features: Float32Array, output: Float32Array, time: number): Promise<void> => {
    if (nextSequence >= reservedUpTo) {
      // Sequence numbers are reserved on disk a block at a time, so that none repeats after a crash.
      reserving ??= state
        .update((data) => {
          data.sequence = Math.max(data.sequence, nextSequence) + SEQUENCE_BLOCK
        })
        .then(() => {
          reservedUpTo = state.data.sequence
        })
        .finally(() => {
          reserving = undefined
        })
      await reserving
    }
    const sequence = BigInt(nextSequence++)
    const attestation = await signInferenceAttestation({
      domain: fleet.domain,
      signer,
      message: { fleet: fleet.fleet, device: bundle.device, model, sequence, inputHash: contentId(bytesOf(features)), outputHash: contentId(bytesOf(output)), time: BigInt(Math.floor(time / 1000)) },
    })
    const peers = await mesh.publishEvent(attestation)
    inference.attestations++
    log.debug({ sequence: sequence.toString(), peers }, 'inference attestation published')
  }

  const infer = async (model: LoadedModel, sample: WindowSample): Promise<void> => {
    if (sample.features.length !== model.io.sampleSize) {
      inference.skipped++
      if (!sizeWarned) log.warn({ features: sample.features.length, modelInput: model.io.sampleSize }, 'windows do not fit the model input; check windowSize and the sensor channels')
      sizeWarned = true
      return
    }
    const output = await model.run(sample.features)
    inference.runs++
    const top = topClass(output)
    const names = config.classes
    const label = output.length > 1 ? (names?.[top.index] ?? String(top.index)) : null
    inference.last = { class: label, value: top.value, time: sample.time }
    log.debug({ sensor: sample.sensor, model: model.hash, class: label, value: top.value, label: sample.label ?? null }, 'inference')
    if (Date.now() - lastAttestationAt >= minAttestationGapMs) {
      lastAttestationAt = Date.now()
      await attest(model.hash, sample.features, output, sample.time)
    }
  }

  let pending: Sample[] = []
  let flushTimer: NodeJS.Timeout | undefined
  let flushing: Promise<void> = Promise.resolve()
  const flushSamples = (): Promise<void> => {
    clearTimeout(flushTimer)
    flushTimer = undefined
    if (pending.length === 0) return flushing
    const batch = pending
    pending = []
    flushing = flushing
      .then(() => dataset.add(batch))
      .then(() => changed())
      .catch((err: unknown) => log.warn({ err: errorText(err), samples: batch.length }, 'samples not stored'))
    return flushing
  }

  const onSample = (sample: WindowSample): void => {
    pending.push(sample.label === undefined ? { features: sample.features, time: sample.time } : { features: sample.features, label: sample.label, time: sample.time })
    if (pending.length >= SAMPLE_FLUSH_COUNT) void flushSamples()
    else flushTimer ??= setTimeout(() => void flushSamples(), SAMPLE_FLUSH_MS)
    const model = current
    if (model === undefined) return
    // One window at a time: a window that comes while the last still runs is stored, not inferred.
    if (inferenceBusy) {
      inference.skipped++
      return
    }
    inferenceBusy = true
    inferenceInFlight = infer(model, sample)
      .catch((err: unknown) => {
        inference.skipped++
        log.warn({ err: errorText(err) }, 'inference failed')
      })
      .finally(() => {
        inferenceBusy = false
      })
  }
  let inferenceBusy = false

  // --- rounds ------------------------------------------------------------------------------------------------
  let roundWork: Promise<void> = Promise.resolve()
  let roundBusy: bigint | undefined
  let roundAbort: AbortController | undefined

  const runRound = async (announcement: Signed<'RoundAnnouncement'>, from: PeerId): Promise<void> => {
    const m = announcement.message
    const round = m.round
    const rlog = log.child({ round: round.toString() })
    const skip = async (reason: string): Promise<void> => {
      rlog.info({ reason }, 'round skipped')
      await state.setRound(round, 'skipped', { reason, baseModel: m.baseModel })
      changed()
    }
    roundAbort = new AbortController()
    const signal = AbortSignal.any([stopping.signal, roundAbort.signal])
    try {
      setRunState('fetching')
      await state.setRound(round, 'fetching', { baseModel: m.baseModel })
      changed()
      let params: ReturnType<typeof localTrainingOf>
      try {
        params = localTrainingOf(parseRoundParams(m.params))
      } catch (err) {
        return await skip(`bad-params: ${errorText(err)}`)
      }
      let roundPrivacy: ReturnType<typeof parseRoundPrivacy>
      try {
        roundPrivacy = parseRoundPrivacy(m.privacy)
      } catch (err) {
        return await skip(`bad-privacy: ${errorText(err)}`)
      }
      // The owner's budget: refused here, before anything is fetched or trained.
      const budget = privacyBudget.check(round, roundPrivacy)
      if (!budget.ok) {
        rlog.warn({ reason: budget.reason, detail: budget.detail }, 'round refused: privacy policy')
        return await skip(`${budget.reason}: ${budget.detail}`)
      }
      const free = freemem()
      if (free < config.training.minFreeMemoryBytes) return await skip(`low-memory: ${free} bytes available, ${config.training.minFreeMemoryBytes} needed`)
      // Provenance: a base model no authorised gateway settled is neither trained nor run.
      const verdict = await provenance.check(m.baseModel, { signal })
      if (!verdict.settled) {
        if (verdict.reason === 'not-settled') {
          refuse(m.baseModel, 'not-settled', `base model of round ${round}`)
          rlog.warn({ baseModel: m.baseModel }, 'round refused: its base model is not settled on chain')
          return await skip('base-model-not-settled')
        }
        return await skip(`chain-unavailable: ${verdict.detail}`)
      }
      const base = await modelBytes(m.baseModel, [from])
      await remember(m.baseModel)
      void considerModel(m.baseModel, [from])
      const all = await dataset.all({ signal })
      const io = modelIo(decodeModel(base))
      const classes = classesFor(io.outputSize, all)
      const train = splitOf(usable(all, io.sampleSize, classes)).train
      if (train.length < config.training.minSamples) return await skip(`too-few-samples: ${train.length} of ${config.training.minSamples}`)
      if (BigInt(Math.floor(Date.now() / 1000)) >= m.deadline) return await skip('deadline-passed')

      setRunState('training')
      await state.setRound(round, 'training', { baseModel: m.baseModel, samples: train.length })
      changed()
      const epochs = params.epochs ?? config.training.epochs
      rlog.info({ baseModel: m.baseModel, samples: train.length, epochs, threads: config.training.threads }, 'training')
      const started = Date.now()
      const result = await trainLocalRound({
        baseModel: base,
        samples: train,
        classes,
        epochs,
        batchSize: params.batchSize ?? config.training.batchSize,
        lr: params.lr ?? config.training.learningRate,
        optimizer: config.training.optimizer,
        seed: (seed ^ Number(round & 0xffff_ffffn)) >>> 0,
        ...(params.mu === undefined ? {} : { mu: params.mu }),
        ...(params.maxNorm === undefined ? {} : { maxNorm: params.maxNorm }),
        encoding: config.training.encoding,
        ...(roundPrivacy?.mode === 'device' ? { privacy: { clipNorm: roundPrivacy.clipNorm, noiseMultiplier: roundPrivacy.noiseMultiplier } } : {}),
        engine: trainingRunner,
        signal,
        logger,
      })
      signal.throwIfAborted()
      if (roundPrivacy !== undefined) await privacyBudget.spend(round, roundPrivacy)
      const attestation = await signUpdateAttestation({
        domain: fleet.domain,
        signer,
        signal,
        message: {
          fleet: fleet.fleet,
          round,
          device: bundle.device,
          baseModel: m.baseModel,
          updateHash: result.updateHash,
          sampleCount: BigInt(result.metrics.samples),
          metricsHash: result.metricsHash,
          time: BigInt(Math.floor(Date.now() / 1000)),
        },
      })
      const attestationHash = hashMessage('UpdateAttestation', fleet.domain, attestation.message)
      // Once it is signed it is queued: from here on the update is delivered, across crashes.
      try {
        await outbox.enqueue({ attestation, certificate, update: result.update })
      } catch (err) {
        if (err instanceof OutboxFullError) {
          rlog.warn({ err: errorText(err) }, 'update not queued: the outbox is full')
          await state.setRound(round, 'failed', { reason: 'outbox-full' })
          return
        }
        throw err
      }
      await state.setRound(round, 'submitted', { attestationHash })
      rlog.info({ attestationHash, ms: Date.now() - started, loss: result.metrics.loss, norm: result.metrics.norm, clipped: result.metrics.clipped }, 'update signed and queued')
      changed()
    } catch (err) {
      if (err instanceof RoundSkip) return await skip(err.reason)
      if (signal.aborted || isAbort(err)) {
        rlog.info('round abandoned: the agent is stopping')
        await state.setRound(round, 'abandoned', { reason: 'stopping' }).catch(() => undefined) // the state file may already be closing
        return
      }
      rlog.error({ err: errorText(err) }, 'round failed')
      await state.setRound(round, 'failed', { reason: errorText(err).slice(0, 256) })
    } finally {
      roundAbort = undefined
      setRunState(idleState())
      changed()
    }
  }

  const onAnnouncement = (evt: Event): void => {
    const { from, announcement } = (evt as CustomEvent<{ from: PeerId; announcement: Signed<'RoundAnnouncement'> }>).detail
    const m = announcement.message
    announcers.set(from.toString(), from)
    if (stopping.signal.aborted || state.data.revoked !== null) return // a revoked device trains no more
    const known = state.round(m.round)
    if (known !== undefined) {
      if (FINAL_ROUND_STATUSES.has(known.status) || known.status === 'fetching' || known.status === 'training') return
      if ((known.status === 'skipped' || known.status === 'failed') && Date.now() - known.at < ROUND_RETRY_MS) return
    }
    if (BigInt(Math.floor(Date.now() / 1000)) >= m.deadline) return
    if (roundBusy !== undefined) {
      if (roundBusy !== m.round) void state.setRound(m.round, 'skipped', { reason: `busy: training round ${roundBusy}`, baseModel: m.baseModel }).then(changed)
      log.info({ round: m.round.toString(), busyWith: roundBusy.toString() }, 'round skipped: busy with another round')
      return
    }
    roundBusy = m.round
    outbox.wake()
    roundWork = runRound(announcement, from).finally(() => {
      roundBusy = undefined
    })
  }
  const onModel = (evt: Event): void => {
    const { from, availability } = (evt as CustomEvent<{ from: PeerId; availability: { hash: Hex } }>).detail
    void considerModel(availability.hash, [from])
  }
  const onDelivered = (evt: Event): void => {
    const { entry, receipt } = (evt as CustomEvent<{ entry: OutboxEntry; receipt: Signed<'Receipt'> }>).detail
    log.info({ round: entry.round, attestationHash: entry.attestationHash, gateway: receipt.message.gateway }, 'update delivered: receipt accepted')
    void state.setRound(BigInt(entry.round), 'receipt-accepted', { attestationHash: entry.attestationHash }).then(changed)
  }
  const onDeadLetter = (evt: Event): void => {
    const { entry } = (evt as CustomEvent<{ entry: DeadLetter }>).detail
    deadLetters++
    log.warn({ round: entry.round, attestationHash: entry.attestationHash, reason: entry.reason }, 'update rejected by the gateway')
    void state.setRound(BigInt(entry.round), 'receipt-rejected', { attestationHash: entry.attestationHash, reason: entry.reason }).then(changed)
    if (entry.reason === 'revoked' && state.data.revoked === null) {
      log.warn({ round: entry.round }, 'device revoked (a gateway refused its update as revoked): training stopped; inference goes on')
      void state.update((data) => void (data.revoked = { round: entry.round, at: Date.now() })).then(changed)
    }
  }

  mesh.addEventListener('announcement', onAnnouncement)
  mesh.addEventListener('model', onModel)
  outbox.addEventListener('delivered', onDelivered)
  outbox.addEventListener('dead-letter', onDeadLetter)
  const onConnect = (): void => {
    outbox.wake()
    changed()
  }
  await mesh.start()
  mesh.libp2p.addEventListener('peer:connect', onConnect)
  closers.push(async () => {
    mesh.libp2p.removeEventListener('peer:connect', onConnect)
    mesh.removeEventListener('announcement', onAnnouncement)
    mesh.removeEventListener('model', onModel)
    await mesh.stop()
  })
  outbox.start()

  // The configured gateways are dialled again while none of them is connected (a gateway restart).
  const redial = async (): Promise<void> => {
    const connected = new Set(mesh.libp2p.getPeers().map(String))
    if (dialTargets.some((t) => connected.has(t.getComponents().find((c) => c.name === 'p2p')?.value ?? ''))) return
    for (const target of dialTargets) await mesh.dial(target, { signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(GATEWAY_REDIAL_MS)]) }).catch(() => undefined) // unreachable now; tried again next time
  }
  const redialTimer = setInterval(() => void redial(), GATEWAY_REDIAL_MS)
  void redial()

  pipeline.start({ skip: new Set(state.data.endedSensors) })

  const consoleComponents = { device: bundle.device, fleet: fleet.fleet, owner: fleet.owner, domain: fleet.domain, status, outbox, signer, rpcUrl, deviceFile: file, dataDir, logger }
  const stopConsole = await startTechnicianConsole(consoleComponents, config.console)
  closers.push(stopConsole)

  runState = idleState()
  const statusInterval = setInterval(() => void writeStatus(), config.statusIntervalMs)
  await writeStatus()
  log.info({ device: bundle.device, peerId: mesh.peerId.toString(), multiaddrs: mesh.multiaddrs.map(String), model: current?.hash ?? null, samples: dataset.size, dataDir }, 'agent started')

  let stopped: Promise<void> | undefined
  return {
    peerId: mesh.peerId.toString(),
    multiaddrs: mesh.multiaddrs.map(String),
    status,
    stop() {
      stopped ??= (async () => {
        log.info('agent stopping')
        runState = 'stopping'
        clearInterval(statusInterval)
        clearInterval(redialTimer)
        await writeStatus()
        // A training step in flight is abandoned (aborted between steps); nothing unsigned is kept.
        stopping.abort(new Error('the agent is stopping'))
        roundAbort?.abort()
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, STOP_STEP_TIMEOUT_MS).unref())
        await Promise.race([Promise.allSettled([roundWork, considering]), timeout])
        await pipeline.stop()
        await flushSamples()
        await inferenceInFlight
        await closeAll()
        runState = 'stopped'
        await writeStatus()
        log.info('agent stopped')
      })()
      return stopped
    },
  }
}

export type { AgentConfig }
