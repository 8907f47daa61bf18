import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import {
  addRound,
  checkPrivacyBudget,
  computeRdp,
  encodeRoundPrivacy,
  epsilonFromRdp,
  ledgerEpsilon,
  logErfc,
  logGamma,
  parseRoundPrivacy,
  privacyPolicySchema,
  RDP_ORDERS,
  InvalidArgumentError,
} from '../../../protocols/index.js'

interface Reference {
  rdp: { source: string; sampleRate: number; noiseMultiplier: number; steps: number; orders: (number | string)[]; rdp: (number | string)[] }[]
  conversion: ({ source: string; orders: { from: number; to: number; step: number }; delta: number; epsilon: number; order?: number } & ({ constantRdp: number } | { sampleRate: number; noiseMultiplier: number; steps: number }))[]
  dpSgd: { source: string; cases: { n: number; batchSize: number; noiseMultiplier: number; epochs: number; delta: number; epsilon: number; order: number }[] }
}
const reference = JSON.parse(readFileSync(new URL('../../fixtures/privacy/rdp-reference.json', import.meta.url), 'utf8')) as Reference
const num = (v: number | string): number => (v === 'Infinity' ? Infinity : (v as number))
const within = (t: Test, actual: number, expected: number, what: string) => {
  if (expected === 0 || !Number.isFinite(expected)) return t.equal(actual, expected, what)
  return t.ok(Math.abs(actual - expected) <= 0.01 * Math.abs(expected), `${what}: ${actual} within 1% of ${expected}`)
}

t.test('RDP of the sampled Gaussian matches the reference accountants within 1%', async (t) => {
  for (const c of reference.rdp) {
    const rdp = computeRdp({ sampleRate: c.sampleRate, noiseMultiplier: c.noiseMultiplier, steps: c.steps, orders: c.orders.map(num) })
    rdp.forEach((r, i) => within(t, r, num(c.rdp[i] as number | string), `${c.source} order ${c.orders[i]}`))
  }
})

t.test('RDP to (ε, δ) with the improved conversion matches the references', async (t) => {
  for (const c of reference.conversion) {
    const orders: number[] = []
    for (let i = 0; c.orders.from + i * c.orders.step <= c.orders.to + 1e-9; i++) orders.push(c.orders.from + i * c.orders.step)
    const rdp = 'constantRdp' in c ? orders.map(() => c.constantRdp) : computeRdp({ sampleRate: c.sampleRate, noiseMultiplier: c.noiseMultiplier, steps: c.steps, orders: orders.filter((o) => o > 1) })
    const usable = 'constantRdp' in c ? orders : orders.filter((o) => o > 1)
    const { epsilon, order } = epsilonFromRdp({ rdp, delta: c.delta, orders: usable })
    within(t, epsilon, c.epsilon, c.source)
    if (c.order !== undefined) t.equal(order, c.order, `${c.source}: optimal order`)
  }
})

t.test('DP-SGD examples (composition over steps) match compute_dp_sgd_privacy', async (t) => {
  for (const c of reference.dpSgd.cases) {
    const steps = Math.ceil((c.epochs * c.n) / c.batchSize)
    const { epsilon, order } = epsilonFromRdp({ rdp: computeRdp({ sampleRate: c.batchSize / c.n, noiseMultiplier: c.noiseMultiplier, steps }), delta: c.delta, orders: RDP_ORDERS })
    within(t, epsilon, c.epsilon, `n=${c.n} batch=${c.batchSize} σ=${c.noiseMultiplier} epochs=${c.epochs}`)
    t.equal(order, c.order, 'optimal order')
  }
})

t.test('composition: RDP adds, the ledger groups equal rounds, and ε grows', async (t) => {
  const one = computeRdp({ sampleRate: 0.2, noiseMultiplier: 1.1, steps: 1 })
  const ten = computeRdp({ sampleRate: 0.2, noiseMultiplier: 1.1, steps: 10 })
  // Orders whose series does not converge are Infinity, as in the reference accountants, and stay so.
  ten.forEach((r, i) => t.ok(Number.isFinite(r) ? Math.abs(r - 10 * (one[i] as number)) <= 1e-12 * Math.max(1, r) : one[i] === Infinity, `order ${RDP_ORDERS[i]}`))
  let ledger = addRound([], { sampleRate: 0.2, noiseMultiplier: 1.1 })
  const before = ledger
  ledger = addRound(ledger, { sampleRate: 0.2, noiseMultiplier: 1.1 })
  ledger = addRound(ledger, { sampleRate: 1, noiseMultiplier: 5 })
  t.same(before, [{ sampleRate: 0.2, noiseMultiplier: 1.1, rounds: 1 }], 'input ledger unchanged')
  t.same(ledger, [{ sampleRate: 0.2, noiseMultiplier: 1.1, rounds: 2 }, { sampleRate: 1, noiseMultiplier: 5, rounds: 1 }])
  const e1 = ledgerEpsilon(before, 1e-5)
  const e3 = ledgerEpsilon(ledger, 1e-5)
  t.ok(e1 > 0 && e3 > e1, `ε grows with rounds: ${e1} < ${e3}`)
  t.equal(ledgerEpsilon([], 1e-5), 0)
})

t.test('special functions', async (t) => {
  t.ok(Math.abs(logGamma(5) - Math.log(24)) < 1e-12)
  t.ok(Math.abs(logGamma(0.5) - 0.5 * Math.log(Math.PI)) < 1e-12)
  t.ok(Math.abs(logGamma(-0.5) - Math.log(2 * Math.sqrt(Math.PI))) < 1e-12, 'reflection: |Γ(−½)| = 2√π')
  t.ok(Math.abs(logErfc(0.5) - Math.log(0.4795001221869535)) < 1e-12)
  t.ok(Math.abs(logErfc(3) - Math.log(2.209049699858544e-5)) < 1e-10)
  t.ok(Math.abs(logErfc(-2) - Math.log(1.99532226501895)) < 1e-12)
  t.ok(Number.isFinite(logErfc(40)) && logErfc(40) < -1600, 'far tail stays finite in log space')
})

t.test('bad arguments are typed errors naming the field', async (t) => {
  t.throws(() => computeRdp({ sampleRate: 1.5, noiseMultiplier: 1, steps: 1 }), InvalidArgumentError)
  t.throws(() => computeRdp({ sampleRate: 0.5, noiseMultiplier: -1, steps: 1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'noiseMultiplier' } })
  t.throws(() => computeRdp({ sampleRate: 0.5, noiseMultiplier: 1, steps: 1.5 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'steps' } })
  t.throws(() => epsilonFromRdp({ rdp: [1], delta: 0 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'delta' } })
  t.throws(() => addRound([], { sampleRate: 0, noiseMultiplier: 1 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'ledger.0.sampleRate' } })
})

t.test('announced privacy parameters: canonical JSON, strictly parsed', async (t) => {
  const p = { mode: 'device' as const, clipNorm: 1, noiseMultiplier: 1.1, sampleRate: 0.5, delta: 1e-5 }
  const text = encodeRoundPrivacy(p)
  t.equal(text, '{"clipNorm":1,"delta":0.00001,"mode":"device","noiseMultiplier":1.1,"sampleRate":0.5}')
  t.same(parseRoundPrivacy(text), p)
  t.equal(parseRoundPrivacy(''), undefined)
  t.equal(encodeRoundPrivacy(undefined), '')
  t.throws(() => parseRoundPrivacy('{"mode":"device"}'), { code: 'CW_INVALID_ARGUMENT', details: { field: 'privacy.clipNorm' } })
  t.throws(() => parseRoundPrivacy(' ' + text), { code: 'CW_INVALID_ARGUMENT', details: { field: 'privacy' } })
  t.throws(() => parseRoundPrivacy('{'), { code: 'CW_INVALID_ARGUMENT', details: { field: 'privacy' } })
  t.throws(() => parseRoundPrivacy(text.replace('"device"', '"magic"')), { code: 'CW_INVALID_ARGUMENT', details: { field: 'privacy.mode' } })
})

t.test('the budget check refuses what breaks the policy and says why', async (t) => {
  const policy = privacyPolicySchema.parse({ maxEpsilon: 3, delta: 1e-5, minNoiseMultiplier: 1 })
  const round = { mode: 'device' as const, clipNorm: 1, noiseMultiplier: 2, sampleRate: 1, delta: 1e-5 }
  t.match(checkPrivacyBudget({ policy, ledger: [], privacy: undefined }), { ok: false, reason: 'privacy-not-announced' })
  t.match(checkPrivacyBudget({ policy, ledger: [], privacy: { ...round, mode: 'central' } }), { ok: false, reason: 'privacy-central-refused' })
  t.match(checkPrivacyBudget({ policy, ledger: [], privacy: { ...round, noiseMultiplier: 0.5 } }), { ok: false, reason: 'privacy-noise-too-low' })
  let ledger: ReturnType<typeof addRound> = []
  let accepted = 0
  for (;;) {
    const verdict = checkPrivacyBudget({ policy, ledger, privacy: round })
    if (!verdict.ok) {
      t.equal(verdict.reason, 'privacy-budget-exceeded')
      t.ok((verdict.epsilonAfter ?? 0) > 3 && verdict.epsilonBefore <= 3, verdict.detail)
      break
    }
    t.ok(verdict.epsilonAfter <= 3)
    ledger = verdict.ledger
    accepted++
  }
  t.ok(accepted >= 1 && accepted < 100, `accepted ${accepted} rounds of σ=2 before the budget ran out`)
})
