// Secure aggregation (protocols/secagg): Shamir sharing, the fixed-point ring, and the SecAgg+
// protocol run in process between real clients (X25519, ChaCha20-Poly1305): the unmasked sum is
// the sum of the quantised updates bit for bit, with and without dropouts; the gateway's messages
// never hold an individual update; a wrong share is caught and named; bad messages and
// parameters get typed errors.
import t from 'tap'
import fc from 'fast-check'
import { getAddress, type Address } from 'viem'
import {
  combineShares,
  dequantise,
  quantise,
  requireSumStrategy,
  SecAggClient,
  splitSecret,
  unmaskSum,
  type KeyAdvertisement,
  type MaskedInput,
  type SecAggParams,
  type ShareDistribution,
  type ShareReveal,
} from '../../../protocols/index.js'

const device = (i: number): Address => getAddress(`0x${(i * 7919 + 1).toString(16).padStart(40, '0')}`)
const FIXED = { range: 1, scale: 2 ** 16 }
const paramsFor = (n: number, length = 64, neighbours = 8, threshold = 5): SecAggParams => ({ fleet: `0x${'c0'.repeat(32)}`, round: 9n, devices: Array.from({ length: n }, (_, i) => device(i)), neighbours, threshold, length, fixedPoint: FIXED })
const updateOf = (i: number, length: number) => Float32Array.from({ length }, (_, j) => Math.sin(i * 131 + j * 0.7) * 0.9)

interface Run {
  params: SecAggParams
  clients: SecAggClient[]
  adverts: KeyAdvertisement[]
  distributions: ShareDistribution[]
  masked: MaskedInput[]
  reveals: ShareReveal[]
  expected: Uint32Array
}

/** One round: `beforeMask` drop out after dealing shares, `beforeReveal` after submitting their masked input. */
function run(n: number, options: { beforeMask?: Set<number>; beforeReveal?: Set<number>; params?: SecAggParams } = {}): Run {
  const params = options.params ?? paramsFor(n)
  const beforeMask = options.beforeMask ?? new Set()
  const beforeReveal = options.beforeReveal ?? new Set()
  const clients = params.devices.map((d) => new SecAggClient(params, d))
  const adverts = clients.map((c) => c.advertise())
  const distributions = clients.map((c) => c.share(adverts))
  const masked: MaskedInput[] = []
  const expected = new Uint32Array(params.length)
  clients.forEach((c, i) => {
    if (beforeMask.has(i)) return
    const update = updateOf(i, params.length)
    masked.push(c.mask(update, distributions))
    quantise(update, params.fixedPoint).forEach((v, j) => (expected[j] = ((expected[j] as number) + v) >>> 0))
  })
  const submitted = masked.map((m) => m.device)
  const reveals = clients.filter((_, i) => !beforeMask.has(i) && !beforeReveal.has(i)).map((c) => c.reveal(submitted))
  return { params, clients, adverts, distributions, masked, reveals, expected }
}
const same = (a: Uint32Array, b: Uint32Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0

t.test('Shamir: any t shares give the secret back, fewer do not', async (t) => {
  await fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 4 }), (secret, threshold, extra) => {
      const xs = Array.from({ length: threshold + extra }, (_, i) => i * 3 + 1)
      const shares = splitSecret({ secret, threshold, xs })
      const subset = [...shares].reverse().slice(0, threshold)
      if (Buffer.compare(Buffer.from(combineShares(subset)), Buffer.from(secret)) !== 0) return false
      if (threshold > 1) {
        let fewer: Uint8Array | undefined
        try {
          fewer = combineShares(subset.slice(1))
        } catch {
          fewer = undefined
        }
        if (fewer !== undefined && Buffer.compare(Buffer.from(fewer), Buffer.from(secret)) === 0) return false
      }
      return true
    }),
    { numRuns: 60 },
  )
  t.throws(() => splitSecret({ secret: new Uint8Array(31), threshold: 1, xs: [1] }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'secret' } })
  t.throws(() => splitSecret({ secret: new Uint8Array(32), threshold: 3, xs: [1, 2] }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'threshold' } })
  t.throws(() => splitSecret({ secret: new Uint8Array(32), threshold: 1, xs: [0] }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'xs' } })
  t.throws(() => combineShares([{ x: 1, y: new Uint8Array(66) }, { x: 1, y: new Uint8Array(66) }]), { code: 'CW_INVALID_ARGUMENT', details: { field: 'shares' } })
  t.throws(() => combineShares([{ x: 1, y: new Uint8Array(65) }]), { code: 'CW_INVALID_ARGUMENT', details: { field: 'shares.0.y' } })
})

t.test('fixed point: exact sums in Z/2^32, an overflowing configuration refused', async (t) => {
  const q = quantise([0.5, -0.25, 3, -3], FIXED)
  t.same(Array.from(dequantise(q, FIXED)), [0.5, -0.25, 1, -1], 'clamped to the range, negative values wrap')
  t.throws(() => run(2, { params: { ...paramsFor(40000), fixedPoint: { range: 1, scale: 2 ** 16 } } }), { code: 'CW_SECAGG_PARAMS', details: { field: 'devices' } })
  t.throws(() => new SecAggClient({ ...paramsFor(100), fixedPoint: { range: 4, scale: 2 ** 24 } }, device(0)), { code: 'CW_SECAGG_PARAMS', details: { field: 'scale' } })
  t.throws(() => quantise([Number.NaN], FIXED), { code: 'CW_SECAGG_PARAMS' })
})

for (const n of [10, 40]) {
  t.test(`${n} devices, no dropout: the unmasked sum is the quantised sum bit for bit, and its mean the FedAvg of the quantised updates`, async (t) => {
    const r = run(n)
    const result = unmaskSum({ params: r.params, adverts: r.adverts, distributions: r.distributions, masked: r.masked, reveals: r.reveals })
    t.ok(same(result.sum, r.expected), 'sum matches')
    t.same(result.dropped, [])
    t.same(result.badShares, [])
    const mean = Array.from(dequantise(result.sum, FIXED), (v) => v / n)
    const plain = Array.from({ length: r.params.length }, (_, j) => r.params.devices.reduce((s, _d, i) => s + ((quantise(updateOf(i, r.params.length), FIXED)[j] as number) | 0), 0) / FIXED.scale / n)
    t.same(mean, plain, 'equal to the plain mean of the quantised updates')
  })
}

t.test('the gateway never holds an individual update: every message it sees is masked', async (t) => {
  const r = run(12)
  const held = [
    ...r.adverts.flatMap((a) => [a.maskKey, a.encryptionKey]),
    ...r.distributions.flatMap((d) => d.shares.map((s) => s.ciphertext)),
    ...r.masked.map((m) => new Uint8Array(m.masked.buffer)),
    ...r.reveals.flatMap((v) => v.shares.map((s) => s.share.y)),
  ]
  r.params.devices.forEach((_, i) => {
    const clear = quantise(updateOf(i, r.params.length), FIXED)
    const masked = r.masked[i]?.masked as Uint32Array
    let equal = 0
    for (let j = 0; j < clear.length; j++) if (clear[j] === masked[j]) equal++
    t.ok(equal <= 2, `device ${i}: ${equal} of ${clear.length} masked words equal the clear ones (chance level)`)
    const needle = Buffer.from(clear.buffer).subarray(0, 16)
    t.notOk(held.some((b) => Buffer.from(b).includes(needle)), `device ${i}: its quantised update appears in no message`)
  })
  // No device has both its self-mask seed and its pairwise key revealed.
  for (const d of r.params.devices) {
    const kinds = new Set(r.reveals.flatMap((v) => v.shares.filter((s) => s.of === d).map((s) => s.kind)))
    t.ok(kinds.size <= 1, `${d}: only ${[...kinds].join(', ')} revealed`)
  }
})

for (const fraction of [0.1, 0.3]) {
  t.test(`${fraction * 100}% of 40 devices drop out: the round completes with the survivors' exact sum`, async (t) => {
    const n = 40
    const drop = Math.round(fraction * n)
    // Spread over the ring (each device's 12 neighbours lose at most 5, the tolerance of t = 7);
    // alternately after dealing shares (their pairwise masks are recovered) and after submitting
    // (their shares are missing when revealing).
    const dropped = Array.from({ length: drop }, (_, j) => Math.floor((j * n) / drop))
    const beforeMask = new Set(dropped.filter((_, j) => j % 2 === 0))
    const beforeReveal = new Set(dropped.filter((_, j) => j % 2 === 1))
    const r = run(n, { beforeMask, beforeReveal, params: paramsFor(n, 64, 12, 7) })
    const result = unmaskSum({ params: r.params, adverts: r.adverts, distributions: r.distributions, masked: r.masked, reveals: r.reveals })
    t.equal(result.dropped.length, beforeMask.size)
    t.equal(result.survivors.length, n - beforeMask.size)
    t.ok(same(result.sum, r.expected), 'exact')
  })
}

t.test('too many dropouts: a typed error names the device that cannot be recovered', async (t) => {
  const r = run(10, { beforeMask: new Set([0, 1, 2, 3, 4, 5]), params: paramsFor(10, 16, 8, 5) })
  t.throws(() => unmaskSum({ params: r.params, adverts: r.adverts, distributions: r.distributions, masked: r.masked, reveals: r.reveals }), { code: 'CW_SECAGG_RECOVERY' })
})

t.test('a device that reveals a wrong share is caught and named; the sum is still exact', async (t) => {
  const r = run(16, { beforeMask: new Set([3]) })
  const liar = r.reveals[4] as ShareReveal
  const tampered: ShareReveal = { ...liar, shares: liar.shares.map((s, i) => (i === 0 ? { ...s, share: { ...s.share, y: Uint8Array.from(s.share.y, (b, j) => (j === 65 ? b ^ 1 : b)) } } : s)) }
  const reveals = r.reveals.map((v) => (v === liar ? tampered : v))
  const result = unmaskSum({ params: r.params, adverts: r.adverts, distributions: r.distributions, masked: r.masked, reveals })
  t.same(result.badShares, [{ revealedBy: liar.device, of: liar.shares[0]?.of, kind: liar.shares[0]?.kind }])
  t.ok(same(result.sum, r.expected), 'the other shares recover the secret')
})

t.test('protocol violations and bad messages are typed errors', async (t) => {
  const r = run(8, { params: paramsFor(8, 16, 6, 4) })
  const a = r.clients[0] as SecAggClient
  t.throws(() => a.reveal(r.masked.map((m) => m.device)), { code: 'CW_SECAGG_PROTOCOL' }, 'a second reveal')
  const fresh = run(8, { params: paramsFor(8, 16, 6, 4) })
  const c = fresh.clients[1] as SecAggClient
  t.throws(() => c.reveal([device(0)]), { code: 'CW_SECAGG_PROTOCOL' }, 'told it did not submit')
  // A gateway that claims a survivor dropped, to get both of its secrets: the pairwise share of a survivor is refused.
  const b = fresh.reveals[2] as ShareReveal
  const lie: ShareReveal = { ...b, shares: b.shares.map((s) => ({ ...s, kind: 'pairwise' as const })) }
  t.throws(() => unmaskSum({ params: fresh.params, adverts: fresh.adverts, distributions: fresh.distributions, masked: fresh.masked, reveals: [lie] }), { code: 'CW_SECAGG_PROTOCOL', message: /must stay secret/ })
  t.throws(() => unmaskSum({ ...fresh, masked: [{ device: device(0), masked: new Uint32Array(15) }] }), { code: 'CW_SECAGG_PROTOCOL', message: /15 words/ })
  t.throws(() => unmaskSum({ ...fresh, masked: [{ device: device(99), masked: new Uint32Array(16) }] }), { code: 'CW_SECAGG_PROTOCOL', message: /not a participant/ })
  const p = paramsFor(6, 8, 4, 3)
  const clients = p.devices.map((d) => new SecAggClient(p, d))
  const adverts = clients.map((x) => x.advertise())
  t.throws(() => (clients[0] as SecAggClient).share([{ ...(adverts[1] as KeyAdvertisement), maskKey: new Uint8Array(31) }]), { code: 'CW_SECAGG_PROTOCOL', message: /32-byte/ })
  const dists = clients.map((x) => x.share(adverts))
  const target = clients[1] as SecAggClient
  const forged = dists.map((d) => ({ ...d, shares: d.shares.map((s) => (s.to === target.device ? { ...s, ciphertext: Uint8Array.from(s.ciphertext, (v, i) => (i === 0 ? v ^ 1 : v)) } : s)) }))
  t.throws(() => target.mask(updateOf(1, 8), forged), { code: 'CW_SECAGG_PROTOCOL', message: /does not decrypt/ })
  const short = dists.map((d) => ({ ...d, shares: d.shares.map((s) => ({ ...s, ciphertext: s.ciphertext.subarray(1) })) }))
  t.throws(() => target.mask(updateOf(1, 8), short), { code: 'CW_SECAGG_PROTOCOL', message: /bytes, not/ })
  t.throws(() => target.mask(updateOf(1, 9), dists), { code: 'CW_SECAGG_PROTOCOL', message: /9 values/ })
})

t.test('parameters are checked: neighbours, threshold, participants', async (t) => {
  t.throws(() => new SecAggClient(paramsFor(10, 8, 5, 3), device(0)), { code: 'CW_SECAGG_PARAMS', details: { field: 'neighbours' } })
  t.throws(() => new SecAggClient(paramsFor(10, 8, 8, 4), device(0)), { code: 'CW_SECAGG_PARAMS', details: { field: 'threshold' } })
  t.throws(() => new SecAggClient(paramsFor(10, 8, 8, 9), device(0)), { code: 'CW_SECAGG_PARAMS', details: { field: 'threshold' } })
  t.throws(() => new SecAggClient(paramsFor(10), device(50)), { code: 'CW_SECAGG_PARAMS', details: { field: 'device' } })
  t.throws(() => new SecAggClient({ ...paramsFor(3), devices: [device(0), device(0), device(1)] }, device(0)), { code: 'CW_SECAGG_PARAMS', details: { field: 'devices' } })
})

t.test('strategies that need individual updates are refused with masked updates', async (t) => {
  for (const name of ['median', 'trimmed-mean', 'krum', 'multi-krum', 'clipped-fedavg'])
    t.throws(() => requireSumStrategy(name), { code: 'CW_PRIVACY_STRATEGY', message: /clip on the devices and add central DP/ }, name)
  for (const name of ['fedavg', 'fedprox', 'fedadam']) t.doesNotThrow(() => requireSumStrategy(name), name)
})
