// Audits a round from public data alone: the round record plus the blobs it references (parent
// model, updates, optimiser state). Every signature is checked again, the aggregate, the scores,
// the rewards and the Merkle root are recomputed, and each is reported as an item that matches or
// not. (Comparing with the chain is the settlement layer's part.)
import { getAddress, isAddressEqual, type Address, type Hex } from 'viem'
import { strategyFor } from '../aggregation/strategy-for.js'
import { subtractWeights } from '../aggregation/tensor-math.js'
import type { ClientUpdate } from '../aggregation/types.js'
import { fleetDomain } from '../eip712/domain.js'
import { verifyMessage } from '../eip712/messages.js'
import { BaseError } from '../errors.js'
import { decodeModel, encodeModel } from '../model/model-codec.js'
import { readInitializers, replaceInitializers } from '../model/initializers.js'
import { sortByName, type NamedTensor } from '../tensors/named-tensor.js'
import { contentId, decodeUpdate, encodeUpdate } from '../tensors/update-codec.js'
import { buildRoundRecord, type RecordedContribution } from './build-round-record.js'
import { decodeRoundRecord, type RoundRecord } from './round-record.js'
import { aggregationSamples, Consensus, contributionQuality } from './scoring.js'
import { checkSelection, parseSelectionRule, selectionSeed } from './selection.js'
import { certifiedMaxSamples } from './sample-bounds.js'
import { parseRoundPrivacy, type RoundPrivacy } from '../privacy/round-privacy.js'
import { withCentralDp, centralNoiseStd } from '../privacy/central-dp.js'
import { contributionPrivacy } from '../privacy/ledger.js'

/** Relative tolerance on a recorded ε: the accountant's arithmetic, not a statistical allowance. */
const EPSILON_TOLERANCE = 1e-9

export interface AuditItem {
  item: string
  ok: boolean
  detail: string
}

export interface AuditReport {
  ok: boolean
  recordHash: Hex
  round?: bigint
  items: AuditItem[]
  /** The record as decoded; absent when it does not decode. */
  record?: RoundRecord
  /** What the audit recomputed, when every blob was there: for comparing with the chain. */
  recomputed?: { newModel: Hex; contributionsRoot: Hex }
}

/** Fetches a blob by its sha256 (a local directory, the mesh); undefined when it cannot be had. */
export type FetchBlob = (hash: Hex) => Promise<Uint8Array | undefined>

export async function auditRound(recordBytes: Uint8Array, fetch: FetchBlob): Promise<AuditReport> {
  const items: AuditItem[] = []
  const check = (item: string, ok: boolean, detail: string) => {
    items.push({ item, ok, detail })
    return ok
  }
  const recordHash = contentId(recordBytes)
  let record: RoundRecord
  try {
    record = decodeRoundRecord(recordBytes)
  } catch (err) {
    check('record', false, err instanceof Error ? err.message : String(err))
    return { ok: false, recordHash, items }
  }
  check('record', true, `round ${record.round}, ${record.contributions.length} contributions`)
  const domain = fleetDomain({ chainId: Number(record.chainId), verifyingContract: record.registry })
  const a = record.announcement.message
  check(
    'announcement',
    verifyMessage('RoundAnnouncement', { domain, message: a, signature: record.announcement.signature }) &&
      a.round === record.round &&
      a.fleet.toLowerCase() === record.fleet.toLowerCase() &&
      a.baseModel.toLowerCase() === record.parentModel.toLowerCase(),
    `signed by gateway ${a.gateway}, base model ${a.baseModel}`,
  )

  // The selection's commitment, as far as the record alone shows it (auditSelection checks the rest against the chain).
  const seed = selectionSeed(a.round, a.baseModel)
  let ruleProblem: string | undefined
  try {
    parseSelectionRule(a.selectionRule)
  } catch (err) {
    ruleProblem = err instanceof Error ? err.message : String(err)
  }
  check(
    'selection commitment',
    isHashEqual(seed, a.selectionSeed) && ruleProblem === undefined,
    ruleProblem ?? (isHashEqual(seed, a.selectionSeed) ? `seed ${a.selectionSeed}, rule ${a.selectionRule}, eligible at block ${a.eligibleBlock}` : `the seed is not keccak256(round, baseModel) = ${seed}`),
  )

  // The round's differential privacy, as announced.
  let privacy: RoundPrivacy | undefined
  try {
    privacy = parseRoundPrivacy(a.privacy)
    check('privacy', true, privacy === undefined ? 'no differential privacy announced' : `${privacy.mode} DP: clip ${privacy.clipNorm}, noise multiplier ${privacy.noiseMultiplier}, sample rate ${privacy.sampleRate}, δ ${privacy.delta}`)
  } catch (err) {
    check('privacy', false, err instanceof Error ? err.message : String(err))
  }
  for (const c of record.contributions) {
    const who = `contribution ${c.attestation.message.device}`
    if (privacy === undefined) {
      if (c.privacy !== undefined) check(`${who}: ε`, false, 'records a privacy ledger in a round without DP')
      continue
    }
    if (c.privacy === undefined) {
      check(`${who}: ε`, false, 'no privacy ledger in a DP round')
      continue
    }
    const last = c.privacy.ledger.find((e) => e.sampleRate === privacy.sampleRate && e.noiseMultiplier === privacy.noiseMultiplier)
    if (last === undefined) {
      check(`${who}: ε`, false, `the ledger does not count this round (sample rate ${privacy.sampleRate}, noise multiplier ${privacy.noiseMultiplier})`)
      continue
    }
    // The ledger before this round, with this round added back: the accountant's ε at the announced δ.
    const before = c.privacy.ledger.flatMap((e) => (e === last ? (e.rounds > 1 ? [{ ...e, rounds: e.rounds - 1 }] : []) : [e]))
    const { epsilon } = contributionPrivacy(before, privacy)
    const rounds = c.privacy.ledger.reduce((n, e) => n + e.rounds, 0)
    check(`${who}: ε`, Math.abs(epsilon - c.privacy.epsilon) <= EPSILON_TOLERANCE * epsilon, `recomputed ε=${epsilon} at δ=${privacy.delta} over ${rounds} DP rounds, recorded ${c.privacy.epsilon}`)
  }

  // Signatures and blobs of every contribution.
  const updates: ClientUpdate[] = []
  let allBlobs = true
  for (const c of record.contributions) {
    const m = c.attestation.message
    const who = `contribution ${m.device}`
    const certOk =
      verifyMessage('DeviceCertificate', { domain, message: c.certificate.message, signature: c.certificate.signature, signer: record.owner }) &&
      isAddressEqual(c.certificate.message.device, m.device)
    const attOk =
      verifyMessage('UpdateAttestation', { domain, message: m, signature: c.attestation.signature }) &&
      m.round === record.round &&
      m.baseModel.toLowerCase() === record.parentModel.toLowerCase() &&
      m.fleet.toLowerCase() === record.fleet.toLowerCase()
    check(`${who}: signatures`, certOk && attOk, certOk ? (attOk ? 'certificate and attestation verify' : 'attestation does not verify for this round') : 'certificate is not signed by the owner for this device')
    const bound = certifiedMaxSamples(c.certificate.message)
    if (bound !== undefined) check(`${who}: sample count`, m.sampleCount <= bound, `claims ${m.sampleCount} samples, its certificate allows ${bound}`)
    const bytes = await fetch(m.updateHash)
    if (bytes === undefined || contentId(bytes).toLowerCase() !== m.updateHash.toLowerCase()) {
      allBlobs = check(`${who}: update`, false, bytes === undefined ? `update ${m.updateHash} not found` : 'update bytes do not hash to the attested updateHash') && allBlobs
      continue
    }
    try {
      updates.push({ device: getAddress(m.device), sampleCount: aggregationSamples(m.sampleCount), delta: decodeUpdate(bytes).tensors })
    } catch (err) {
      allBlobs = check(`${who}: update`, false, err instanceof BaseError ? err.message : String(err)) && allBlobs
    }
  }

  const parent = await fetch(record.parentModel)
  if (!check('parent model', parent !== undefined && contentId(parent).toLowerCase() === record.parentModel.toLowerCase(), parent === undefined ? 'not found' : 'fetched and hashed')) allBlobs = false
  let previous: NamedTensor<'float32'>[] = []
  if (record.previousState !== undefined) {
    const state = await fetch(record.previousState)
    if (check('previous optimiser state', state !== undefined, state === undefined ? 'not found' : 'fetched') && state !== undefined) previous = decodeUpdate(state).tensors
    else allBlobs = false
  }
  if (!allBlobs || parent === undefined) return { ok: false, recordHash, round: record.round, items, record }

  // Recompute the aggregate, the scores, the rewards and the root.
  const model = decodeModel(parent)
  const base = sortByName(readInitializers(model, { floatOnly: true }) as NamedTensor<'float32'>[])
  let params: Record<string, number>
  try {
    params = JSON.parse(a.params) as Record<string, number>
  } catch {
    check('strategy', false, `params ${JSON.stringify(a.params)} are not JSON`)
    return { ok: false, recordHash, round: record.round, items, record }
  }
  const plain = strategyFor(a.strategy, params)
  // Central DP: recompute the clipped mean without noise, then test the noise the gateway added.
  const strategy = privacy?.mode === 'central' ? withCentralDp(plain, { clipNorm: privacy.clipNorm, noiseMultiplier: privacy.noiseMultiplier, gaussian: null }) : plain
  const contributions: RecordedContribution[] = []
  let nextState: Hex | undefined
  let newModel = record.parentModel
  if (updates.length > 0) {
    const aggregated = await strategy.aggregate(base, updates, previous)
    const bytes = encodeModel(replaceInitializers(model, aggregated.weights))
    const recomputed = contentId(bytes)
    newModel = record.keptParent ? record.parentModel : recomputed
    if (record.keptParent) check('new model', isHashEqual(record.newModel, record.parentModel), `evaluation kept the parent; the aggregate would have been ${recomputed}`)
    else if (privacy?.mode === 'central') {
      const published = await fetch(record.newModel)
      if (published === undefined || contentId(published).toLowerCase() !== record.newModel.toLowerCase()) check('new model', false, `central DP: the new model ${record.newModel} is not to be had`)
      else {
        const noisy = sortByName(readInitializers(decodeModel(published), { floatOnly: true }) as NamedTensor<'float32'>[])
        const test = centralNoiseTest(noisy, aggregated.weights, centralNoiseStd(privacy, aggregated.used.length))
        check('new model', test.ok, `central DP: the new model is the clipped mean plus noise of std ${test.measured.toPrecision(4)} over ${test.count} weights, announced ${test.expected.toPrecision(4)} (accepted ${test.low.toPrecision(4)}..${test.high.toPrecision(4)})`)
      }
    } else check('new model', isHashEqual(record.newModel, recomputed), `recomputed ${recomputed}, recorded ${record.newModel}`)
    if (aggregated.state.length > 0) nextState = contentId(encodeUpdate(aggregated.state, { encoding: 'float32' }))
    const used = new Set(aggregated.used.map((d) => d.toLowerCase()))
    const aggregateDelta = subtractWeights(aggregated.weights, base)
    const consensus = new Consensus()
    record.contributions.forEach((c, i) => {
      if (used.has(c.attestation.message.device.toLowerCase())) consensus.add((updates[i] as ClientUpdate).delta)
    })
    record.contributions.forEach((c, i) => {
      const isUsed = used.has(c.attestation.message.device.toLowerCase())
      contributions.push({
        attestation: c.attestation,
        certificate: c.certificate,
        used: isUsed,
        qualityPpm: contributionQuality((updates[i] as ClientUpdate).delta, consensus, aggregateDelta, isUsed),
      })
    })
  } else {
    check('new model', isHashEqual(record.newModel, record.parentModel), 'no contributions: the parent stays')
  }
  if (record.nextState !== undefined || nextState !== undefined)
    check('next optimiser state', nextState !== undefined && record.nextState !== undefined && isHashEqual(nextState, record.nextState), `recomputed ${nextState ?? 'none'}`)
  const rebuilt = buildRoundRecord({
    domain,
    owner: record.owner,
    announcement: record.announcement,
    contributions,
    newModel,
    keptParent: record.keptParent,
    ...(record.previousState === undefined ? {} : { previousState: record.previousState }),
    ...(nextState === undefined ? {} : { nextState }),
    rewardTotal: record.rewardTotal,
  }).record
  rebuilt.contributions.forEach((c, i) => {
    const recorded = record.contributions[i]
    const who = `contribution ${c.attestation.message.device}`
    check(
      `${who}: score`,
      recorded !== undefined && recorded.used === c.used && recorded.qualityPpm === c.qualityPpm && recorded.reward === c.reward,
      `recomputed used=${c.used} quality=${c.qualityPpm}ppm reward=${c.reward}; recorded used=${recorded?.used} quality=${recorded?.qualityPpm}ppm reward=${recorded?.reward}`,
    )
  })
  check('contributions root', isHashEqual(rebuilt.contributionsRoot, record.contributionsRoot), `recomputed ${rebuilt.contributionsRoot}`)
  return { ok: items.every((i) => i.ok), recordHash, round: record.round, items, record, recomputed: { newModel, contributionsRoot: rebuilt.contributionsRoot } }
}

const isHashEqual = (a: Hex, b: Hex): boolean => a.toLowerCase() === b.toLowerCase()

/**
 * Whether `noisy − clean` looks like i.i.d. N(0, expected²) noise: its root mean square within
 * 6 standard errors (1/√(2n) relative) of the announced standard deviation, and a mean near 0.
 * Shapes and names must agree.
 */
export function centralNoiseTest(noisy: readonly NamedTensor<'float32'>[], clean: readonly NamedTensor<'float32'>[], expected: number): { ok: boolean; measured: number; expected: number; low: number; high: number; count: number } {
  let count = 0
  let sum = 0
  let squares = 0
  const sameLayout = noisy.length === clean.length && noisy.every((t, i) => t.name === clean[i]?.name && t.data.length === clean[i]?.data.length)
  if (sameLayout)
    noisy.forEach((t, i) => {
      const c = (clean[i] as NamedTensor<'float32'>).data
      for (let j = 0; j < t.data.length; j++) {
        const d = (t.data[j] as number) - (c[j] as number)
        sum += d
        squares += d * d
        count++
      }
    })
  const measured = count === 0 ? 0 : Math.sqrt(squares / count)
  const slack = count === 0 ? 0 : 6 / Math.sqrt(2 * count)
  // float32 rounding of the noisy weights adds its own small spread; allowed for in the lower bound only.
  const low = expected * (1 - slack) - 1e-6
  const high = expected * (1 + slack) + 1e-6
  const meanOk = count > 0 && Math.abs(sum / count) <= (6 * expected) / Math.sqrt(count) + 1e-6
  return { ok: sameLayout && count > 0 && measured >= low && measured <= high && meanOk, measured, expected, low, high, count }
}



/**
 * Checks a round's selection against the devices eligible at its announced `eligibleBlock` (read
 * from the fleet's registry by the caller): the rule selects the announced set, and every
 * contribution comes from a selected device.
 */
export function auditSelection(record: Pick<RoundRecord, 'announcement' | 'contributions'>, eligible: readonly Address[]): AuditItem[] {
  const a = record.announcement.message
  const result = checkSelection({ announcement: a, eligible })
  const items: AuditItem[] = [
    {
      item: 'selection',
      ok: result.ok,
      detail: result.ok ? `${result.participants.length} of ${eligible.length} devices eligible at block ${a.eligibleBlock} selected; root ${a.participantsRoot}` : result.problem,
    },
  ]
  if (result.participants === undefined) return items
  const selected = new Set(result.participants.map((d) => d.toLowerCase()))
  const outside = record.contributions.map((c) => c.attestation.message.device).filter((d) => !selected.has(d.toLowerCase()))
  items.push({
    item: 'selection: contributors',
    ok: outside.length === 0,
    detail: outside.length === 0 ? `all ${record.contributions.length} contributions come from selected devices` : `not selected: ${outside.join(', ')}`,
  })
  return items
}
