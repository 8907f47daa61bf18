// A round is audited from its record and the blobs it references: an honest one passes, and one
// tampered score, signature or update fails, naming the item.
import t from 'tap'
import { bytesToHex, hexToBytes, type Hex } from 'viem'
import { auditRound, contentId, decodeRoundRecord, encodeRoundRecord } from '../../../protocols/index.js'
import { finishedRound } from '../../helpers/finished-round.js'

const { round, recordHash, recordBytes, blobs } = await finishedRound()
const fetch = async (hash: Hex) => blobs.get(hash.toLowerCase())

t.test('an honest round passes the audit', async (t) => {
  t.equal(contentId(recordBytes), recordHash)
  const report = await auditRound(recordBytes, fetch)
  t.ok(report.ok, report.items.filter((i) => !i.ok).map((i) => `${i.item}: ${i.detail}`).join('; ') || 'all items match')
  t.equal(report.round, round)
  t.equal(report.items.length, 1 + 1 + 1 + 1 + 4 + 1 + 1 + 1 + 4 + 1, 'record, announcement, selection commitment, privacy, 4 signatures, parent, model, state, 4 scores, root')
  t.match(report.items.find((i) => i.item === 'selection commitment'), { ok: true })
  const record = decodeRoundRecord(recordBytes)
  t.equal(record.contributions.reduce((s, c) => s + c.reward, 0n) <= 10n ** 18n, true, 'rewards never exceed the total')
  t.ok(record.nextState !== undefined, "FedAdam's state is recorded")
})

t.test('a certificate\'s sample bound is checked against the claim', async (t) => {
  const record = decodeRoundRecord(recordBytes)
  const first = record.contributions[0]
  if (first === undefined) throw new Error('no contribution')
  // A bound in the certificate changes its signature, so the signatures item fails too; the claim item names the excess.
  const bounded = { ...first, certificate: { ...first.certificate, message: { ...first.certificate.message, capabilities: ['max-samples:1'] } } }
  const report = await auditRound(encodeRoundRecord({ ...record, contributions: [bounded, ...record.contributions.slice(1)] }), fetch)
  t.match(report.items.find((i) => i.item.endsWith(': sample count')), { ok: false, detail: /its certificate allows 1/ })
})

t.test('a tampered record fails, naming the item', async (t) => {
  const record = decodeRoundRecord(recordBytes)
  const first = record.contributions[0]
  if (first === undefined) throw new Error('no contribution')
  const device = first.attestation.message.device

  const score = encodeRoundRecord({ ...record, contributions: [{ ...first, reward: first.reward + 1n }, ...record.contributions.slice(1)] })
  const scoreReport = await auditRound(score, fetch)
  t.notOk(scoreReport.ok)
  t.same(scoreReport.items.filter((i) => !i.ok).map((i) => i.item), [`contribution ${device}: score`], 'a raised reward is named')

  const sig = hexToBytes(first.attestation.signature)
  sig[10] = (sig[10] ?? 0) ^ 0xff
  const signature = encodeRoundRecord({ ...record, contributions: [{ ...first, attestation: { ...first.attestation, signature: bytesToHex(sig) } }, ...record.contributions.slice(1)] })
  const sigReport = await auditRound(signature, fetch)
  t.notOk(sigReport.ok)
  t.ok(sigReport.items.some((i) => !i.ok && i.item === `contribution ${device}: signatures`), 'a broken signature is named')

  const swapped = async (hash: Hex) => (hash.toLowerCase() === first.attestation.message.updateHash.toLowerCase() ? blobs.get(record.contributions[1]?.attestation.message.updateHash.toLowerCase() ?? '') : fetch(hash))
  const updateReport = await auditRound(recordBytes, swapped)
  t.notOk(updateReport.ok)
  t.same(updateReport.items.filter((i) => !i.ok).map((i) => i.item), [`contribution ${device}: update`], 'a swapped update is named')

  const model = encodeRoundRecord({ ...record, newModel: `0x${'ee'.repeat(32)}` })
  t.ok((await auditRound(model, fetch)).items.some((i) => !i.ok && i.item === 'new model'), 'a wrong new model hash is named')
  const garbage = await auditRound(new Uint8Array([1, 2, 3]), fetch)
  t.same(garbage.items.map((i) => [i.item, i.ok]), [['record', false]], 'bytes that are not a record')
})
