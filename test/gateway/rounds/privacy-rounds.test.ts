// Rounds under differential privacy on a real LevelDB round store: the record carries the
// announced DP parameters and each device's ledger and ε; an auditor recomputes every ε and, for
// central DP, the clipped mean and the noise the gateway added; tampering is caught; central DP
// with a strategy that is not a mean is refused when the round is configured.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import t from 'tap'
import type { Hex } from 'viem'
import {
  auditRound,
  decodeRoundRecord,
  decodeSubmission,
  encodeRoundRecord,
  ledgerEpsilon,
  parseRoundPrivacy,
  PrivacyStrategyError,
  seededGaussian,
  strategyFor,
  type GaussianSource,
} from '../../../protocols/index.js'
import { RoundRunner, RoundStore } from '../../../gateway/rounds/index.js'
import type { RoundConfigInput } from '../../../gateway/rounds/round-config.js'
import { runCw } from '../../helpers/run-cw.js'
import { NOW, baseModel, devices, domain, fleet, gateway, owner, submissionOf } from './fixtures/round-fleet.js'

const dir = await mkdtemp(join(tmpdir(), 'cw-privacy-rounds-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

async function withRunner<T>(name: string, gaussian: GaussianSource | undefined, f: (runner: RoundRunner, store: RoundStore, blobs: Map<string, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new Level<string, unknown>(join(dir, name))
  await db.open()
  try {
    const store = new RoundStore(db as never)
    const runner = new RoundRunner({ store, domain, fleet, gateway, owner: owner.address, strategy: (s) => strategyFor(s.name, s.params), announce: async () => undefined, now: () => NOW, ...(gaussian === undefined ? {} : { gaussian }) })
    return await f(runner, store, new Map())
  } finally {
    await db.close()
  }
}

async function runRound(runner: RoundRunner, store: RoundStore, blobs: Map<string, Uint8Array>, round: bigint, config: RoundConfigInput, count = 4): Promise<Uint8Array> {
  await runner.start({ round, baseModel, config, eligible: devices.map((d) => d.address) })
  for (let i = 0; i < count; i++) {
    const { bytes, device } = await submissionOf(i, round)
    const submission = decodeSubmission(bytes)
    blobs.set(submission.attestation.message.updateHash.toLowerCase(), submission.update)
    // Attestation hashes are unique across rounds, as real ones are.
    await runner.accept(round, device, `0x${(Number(round) * 16 + i + 1).toString(16).padStart(64, '0')}`, bytes)
  }
  const meta = await runner.finish(round)
  const result = meta.result
  if (result === undefined) throw new Error('no result')
  for (const hash of [meta.baseModel, result.newModel, result.recordHash]) {
    const bytes = await store.model(hash)
    if (bytes !== undefined) blobs.set(hash.toLowerCase(), bytes)
  }
  return blobs.get(result.recordHash.toLowerCase()) as Uint8Array
}

const failures = (report: Awaited<ReturnType<typeof auditRound>>) => report.items.filter((i) => !i.ok).map((i) => `${i.item}: ${i.detail}`)

t.test('device DP: each record states every device ledger and ε, composed over its rounds; the audit recomputes them', async (t) => {
  await withRunner('device', undefined, async (runner, store, blobs) => {
    const fetch = async (h: Hex) => blobs.get(h.toLowerCase())
    const privacy = { mode: 'device' as const, clipNorm: 1, noiseMultiplier: 1.5, delta: 1e-6 }
    let record: Uint8Array | undefined
    // Round 2 leaves device 3 out: its ledger in round 3 counts two rounds, the others three.
    for (const [round, count] of [[1n, 4], [2n, 3], [3n, 4]] as const) record = await runRound(runner, store, blobs, round, { quorum: count, strategy: { name: 'fedavg' }, privacy }, count)
    const decoded = decodeRoundRecord(record as Uint8Array)
    const announced = parseRoundPrivacy(decoded.announcement.message.privacy)
    t.same(announced, { ...privacy, sampleRate: 1 }, 'the announcement carries the DP parameters; the public selection counts in full')
    decoded.contributions.forEach((c) => {
      const rounds = c.attestation.message.device === devices[3]?.address ? 2 : 3
      t.same(c.privacy?.ledger, [{ sampleRate: 1, noiseMultiplier: 1.5, rounds }], `device ${c.attestation.message.device}: ${rounds} DP rounds`)
      t.equal(c.privacy?.epsilon, ledgerEpsilon([{ sampleRate: 1, noiseMultiplier: 1.5, rounds }], 1e-6))
    })
    const report = await auditRound(record as Uint8Array, fetch)
    t.same(failures(report), [], 'the audit passes')
    t.equal(report.items.filter((i) => i.item.endsWith(': ε') && i.ok).length, 4, 'four ε recomputed')

    // The same through `cw audit round`, from a directory of blobs named by their hashes.
    const blobDir = join(dir, 'device-blobs')
    await mkdir(blobDir, { recursive: true })
    for (const [hash, bytes] of blobs) await writeFile(join(blobDir, hash), bytes)
    const recordFile = join(dir, 'device-record.bin')
    await writeFile(recordFile, record as Uint8Array)
    const cli = await runCw(['audit', 'round', '3', '--blobs', blobDir, '--record', recordFile])
    t.equal(cli.code, 0, cli.stderr)
    t.match(cli.stdout, /match +privacy: device DP: clip 1, noise multiplier 1\.5, sample rate 1, δ 0\.000001/)
    t.equal(cli.stdout.split('\n').filter((l) => /^match +contribution 0x[0-9a-fA-F]{40}: ε: recomputed ε=/.test(l)).length, 4, 'cw audit round prints every recomputed ε')
    const tamperedFile = join(dir, 'device-record-tampered.bin')

    const first = decoded.contributions[0]
    if (first?.privacy === undefined) throw new Error('no privacy')
    const tampered = encodeRoundRecord({ ...decoded, contributions: [{ ...first, privacy: { ...first.privacy, epsilon: first.privacy.epsilon * 0.9 } }, ...decoded.contributions.slice(1)] })
    t.match(failures(await auditRound(tampered, fetch)), [new RegExp(`^contribution ${first.attestation.message.device}: ε: recomputed ε=`)], 'an understated ε is named')
    await writeFile(tamperedFile, tampered)
    const refused = await runCw(['audit', 'round', '3', '--blobs', blobDir, '--record', tamperedFile])
    t.not(refused.code, 0, 'cw audit round fails on it')
    t.match(refused.stdout, new RegExp(`MISMATCH  contribution ${first.attestation.message.device}: ε: `))
    const dropped = encodeRoundRecord({ ...decoded, contributions: [{ ...first, privacy: { ledger: [{ sampleRate: 1, noiseMultiplier: 3, rounds: 3 }], epsilon: 1 } }, ...decoded.contributions.slice(1)] })
    t.match(failures(await auditRound(dropped, fetch)), [/: ε: the ledger does not count this round/])
  })
})

t.test('amplification by selection, when configured, announces the selected fraction as the sample rate', async (t) => {
  await withRunner('amplified', undefined, async (runner, store, blobs) => {
    const record = await runRound(runner, store, blobs, 1n, { quorum: 2, selection: { fraction: 0.5, min: 1, max: 100 }, strategy: { name: 'fedavg' }, privacy: { mode: 'device', clipNorm: 1, noiseMultiplier: 1, amplifyBySelection: true } }, 2)
    t.equal(parseRoundPrivacy(decodeRoundRecord(record).announcement.message.privacy)?.sampleRate, 0.5, '3 of 6 devices selected')
  })
})

t.test('central DP: the gateway noises the clipped mean; the audit recomputes the mean and tests the noise', async (t) => {
  const privacy = { mode: 'central' as const, clipNorm: 0.05, noiseMultiplier: 1 }
  const honest = await withRunner('central', seededGaussian(1), async (runner, store, blobs) => {
    const record = await runRound(runner, store, blobs, 1n, { quorum: 4, strategy: { name: 'fedavg' }, privacy })
    const report = await auditRound(record, async (h) => blobs.get(h.toLowerCase()))
    t.same(failures(report), [], 'the audit passes')
    t.match(report.items.find((i) => i.item === 'new model')?.detail, /^central DP: the new model is the clipped mean plus noise of std/)
    return report
  })
  t.ok(honest.ok)
  // A gateway that adds three times the announced noise (or none) fails the noise test.
  for (const [name, scale] of [['too-much', 3], ['none', 0]] as const) {
    const source = seededGaussian(2)
    await withRunner(`central-${name}`, () => scale * source(), async (runner, store, blobs) => {
      const record = await runRound(runner, store, blobs, 1n, { quorum: 4, strategy: { name: 'fedavg' }, privacy })
      t.match(failures(await auditRound(record, async (h) => blobs.get(h.toLowerCase()))), [/^new model: central DP: /], `${name}: the new model item fails`)
    })
  }
})

t.test('central DP with a strategy that needs each update is refused at configuration', async (t) => {
  await withRunner('refused', undefined, async (runner) => {
    for (const name of ['median', 'trimmed-mean', 'krum', 'fedadam'])
      await t.rejects(runner.start({ round: 1n, baseModel, config: { strategy: { name }, privacy: { mode: 'central', clipNorm: 1, noiseMultiplier: 1 } }, eligible: devices.map((d) => d.address) }), PrivacyStrategyError, `${name} refused`)
    await t.rejects(runner.start({ round: 1n, baseModel, config: { strategy: { name: 'median' }, privacy: { mode: 'central', clipNorm: 1, noiseMultiplier: 1 } }, eligible: [] }), { code: 'CW_PRIVACY_STRATEGY' })
  })
})

t.test('gateway.json: central DP with a strategy that is not a mean is a configuration error naming the field', async (t) => {
  const { parseGatewayConfig } = await import('../../../gateway/daemon/index.js')
  const config = (strategy: string, mode: 'central' | 'device') => ({
    version: 1,
    fleetFile: 'fleet.json',
    dataDir: 'gateway-data',
    keyStore: { kind: 'file', directory: 'keys', password: { file: 'password' } },
    keyLabel: 'gateway',
    model: { initial: { mlp: { inputs: 4, hidden: [8], outputs: 3, seed: 7 } } },
    rounds: { config: { strategy: { name: strategy }, privacy: { mode, clipNorm: 1, noiseMultiplier: 1 } }, schedule: { mode: 'manual' } },
  })
  t.throws(() => parseGatewayConfig(config('median', 'central'), '/etc/cw/gateway.json'), { code: 'CW_CONFIG', message: /rounds\.config\.privacy\.mode.*"median" cannot run with central DP/ })
  t.doesNotThrow(() => parseGatewayConfig(config('median', 'device'), '/etc/cw/gateway.json'), 'device-level DP works with any strategy')
  t.doesNotThrow(() => parseGatewayConfig(config('fedavg', 'central'), '/etc/cw/gateway.json'))
})
