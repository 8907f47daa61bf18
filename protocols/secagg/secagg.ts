// SecAgg+ (Bell, Bonawitz, Gascón, Lepoint, Raykova 2020, "Secure Single-Server Aggregation with
// (Poly)Logarithmic Overhead"), the semi-honest protocol over a sparse neighbour graph:
//   1. advertise  each device draws two X25519 key pairs for the round: c (pairwise masks) and e
//                 (encrypting shares to its neighbours), and publishes the public keys;
//   2. share      it draws a self-mask seed b, Shamir-splits b and c's secret key t-of-k among its
//                 k neighbours, encrypts each neighbour's pair of shares to it (ChaCha20-Poly1305
//                 under X25519(e)) and publishes a hash commitment to each pair;
//   3. mask       y = q(x) + PRG(b) + Σ_{j neighbour, i<j} PRG(s_ij) − Σ_{j neighbour, j<i} PRG(s_ij) mod 2^32,
//                 s_ij from X25519(c_i, c_j): the pairwise masks cancel in the sum;
//   4. unmask     told who submitted, each survivor reveals, for each neighbour, the share of b
//                 (if it submitted) or of c's secret key (if it dropped out), never both;
//   5. sum        anyone holding the public messages rebuilds each survivor's b and each dropped
//                 device's c key from t shares checked against their commitments, and removes
//                 the masks: the sum of the quantised updates of the survivors, exactly.
// Every function is pure over the messages, so the gateway and an auditor compute the same sum.
import { x25519 } from '@noble/curves/ed25519.js'
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { getAddress, isAddress, type Address, type Hex } from 'viem'
import { InvalidArgumentError, PrivacyStrategyError, SecAggParamsError, SecAggProtocolError, SecAggRecoveryError } from '../errors.js'
import {
  LABEL_COMMIT,
  LABEL_ENCRYPT,
  LABEL_PAIR,
  LABEL_SELF,
  MAX_SECAGG_DEVICES,
  MAX_SECAGG_LENGTH,
  MAX_SECAGG_NEIGHBOURS,
  SECRET_BYTES,
  SHARE_BYTES,
} from './constants.js'
import { checkFixedPoint, quantise, type FixedPoint } from './quantise.js'
import { combineShares, splitSecret, type Share } from './shamir.js'

export interface SecAggParams {
  fleet: Hex
  round: bigint
  /** The round's participants (any order; used in ascending address order). */
  devices: readonly Address[]
  /** Neighbours per device (even; every other device when n − 1 or fewer). */
  neighbours: number
  /** Shares needed to recover a secret, of a device's neighbours. */
  threshold: number
  /** Coordinates of an update. */
  length: number
  fixedPoint: FixedPoint
}

export interface CheckedParams extends SecAggParams {
  devices: Address[]
  graph: Map<Address, Address[]>
}

const lower = (a: string) => a.toLowerCase()
const byAddress = (a: Address, b: Address) => (lower(a) < lower(b) ? -1 : lower(a) > lower(b) ? 1 : 0)

/** Validates the parameters and builds the neighbour graph: a Harary graph on the devices in address order. */
export function checkSecAggParams(p: SecAggParams): CheckedParams {
  const devices = [...new Set(p.devices.map((d) => getAddress(d)))].sort(byAddress)
  if (devices.length !== p.devices.length) throw new SecAggParamsError('devices', 'repeats a device')
  if (devices.length < 2 || devices.length > MAX_SECAGG_DEVICES) throw new SecAggParamsError('devices', `needs 2..${MAX_SECAGG_DEVICES} devices, got ${devices.length}`)
  if (!Number.isInteger(p.neighbours) || p.neighbours < 2 || p.neighbours % 2 !== 0 || p.neighbours > MAX_SECAGG_NEIGHBOURS) throw new SecAggParamsError('neighbours', `must be an even integer in 2..${MAX_SECAGG_NEIGHBOURS}`)
  const k = Math.min(p.neighbours, devices.length - 1)
  if (!Number.isInteger(p.threshold) || p.threshold < 1 || p.threshold > k) throw new SecAggParamsError('threshold', `must be an integer in 1..${k} (the neighbours each device has)`)
  // Fewer than half the neighbours could be outvoted by a second, disjoint set of shares.
  if (p.threshold * 2 <= k) throw new SecAggParamsError('threshold', `must be more than half of the ${k} neighbours`)
  if (!Number.isInteger(p.length) || p.length < 1 || p.length > MAX_SECAGG_LENGTH) throw new SecAggParamsError('length', `must be an integer in 1..${MAX_SECAGG_LENGTH}`)
  checkFixedPoint(p.fixedPoint, devices.length)
  const n = devices.length
  const graph = new Map<Address, Address[]>()
  devices.forEach((d, i) => {
    const set = new Set<Address>()
    if (k >= n - 1) devices.forEach((o) => o !== d && set.add(o))
    else for (let s = 1; s <= k / 2; s++) set.add(devices[(i + s) % n] as Address).add(devices[(i - s + n) % n] as Address)
    graph.set(d, [...set].sort(byAddress))
  })
  return { ...p, devices, graph }
}

const u64 = (v: bigint) => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(v)
  return b
}
const hashOf = (...parts: (string | Uint8Array)[]): Buffer => {
  const h = createHash('sha256')
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part
    h.update(u64(BigInt(bytes.length))).update(bytes)
  }
  return h.digest()
}
const addr = (a: Address) => Buffer.from(lower(a).slice(2), 'hex')
const context = (p: { fleet: Hex; round: bigint }) => [Buffer.from(p.fleet.slice(2), 'hex'), u64(p.round)]

/** `length` words of ChaCha20 keystream under `seed` (RFC 8439 §2.4 with a zero nonce: every seed is used once). */
export function expandMask(seed: Uint8Array, length: number): Uint32Array {
  const cipher = createCipheriv('chacha20', seed, Buffer.alloc(16))
  const bytes = cipher.update(Buffer.alloc(length * 4))
  const out = new Uint32Array(length)
  for (let i = 0; i < length; i++) out[i] = bytes.readUInt32LE(i * 4)
  return out
}

const pairSeed = (p: CheckedParams, a: Address, b: Address, shared: Uint8Array) => {
  const [lo, hi] = byAddress(a, b) < 0 ? [a, b] : [b, a]
  return hashOf(LABEL_PAIR, ...context(p), addr(lo), addr(hi), shared)
}
const selfSeed = (p: CheckedParams, device: Address, b: Uint8Array) => hashOf(LABEL_SELF, ...context(p), addr(device), b)
const shareKey = (p: CheckedParams, from: Address, to: Address, shared: Uint8Array) => hashOf(LABEL_ENCRYPT, ...context(p), addr(from), addr(to), shared)
/** Commitment of the share pair `from` dealt to `to`: published, so that a wrong revealed share is caught and named. */
export const shareCommitment = (p: { fleet: Hex; round: bigint }, from: Address, to: Address, kind: ShareKind, share: Share): Hex =>
  `0x${hashOf(LABEL_COMMIT, ...context(p), addr(from), addr(to), kind, u64(BigInt(share.x)), share.y).toString('hex')}`

export type ShareKind = 'self' | 'pairwise'

/** Step 1: a device's public keys for the round. */
export interface KeyAdvertisement {
  device: Address
  /** X25519 public key of the pairwise-mask key pair. */
  maskKey: Uint8Array
  /** X25519 public key that neighbours encrypt shares to. */
  encryptionKey: Uint8Array
}

/** Step 2: the encrypted shares for each neighbour, and commitments to every share. */
export interface ShareDistribution {
  device: Address
  shares: { to: Address; ciphertext: Uint8Array }[]
  commitments: { to: Address; self: Hex; pairwise: Hex }[]
}

/** Step 3. */
export interface MaskedInput {
  device: Address
  masked: Uint32Array
}

/** Step 4: what a survivor reveals about each neighbour. */
export interface ShareReveal {
  device: Address
  shares: { of: Address; kind: ShareKind; share: Share }[]
}

const checkDevice = (value: unknown, field: string): Address => {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) throw new InvalidArgumentError(field, 'is not an address')
  return getAddress(value)
}

/** The evaluation point of `holder` in its dealers' polynomials: its 1-based place in the round. */
const xOf = (p: CheckedParams, holder: Address): number => p.devices.indexOf(holder) + 1
const PAYLOAD_BYTES = 2 * SHARE_BYTES + 4
const TAG_BYTES = 16

/** One device's side of the protocol for one round. Keys and seeds never leave it except as shares. */
export class SecAggClient {
  readonly device: Address
  readonly #p: CheckedParams
  readonly #maskSecret: Uint8Array
  readonly #encryptionSecret: Uint8Array
  readonly #selfSeed: Uint8Array
  #adverts = new Map<Address, KeyAdvertisement>()
  /** Shares other devices dealt to this one: dealer → { self, pairwise }. */
  #held = new Map<Address, { self: Share; pairwise: Share }>()
  #revealed = false

  constructor(params: SecAggParams, device: Address, random: (n: number) => Uint8Array = (n) => randomBytes(n)) {
    this.#p = checkSecAggParams(params)
    this.device = checkDevice(device, 'device')
    if (!this.#p.graph.has(this.device)) throw new SecAggParamsError('device', `${this.device} is not a participant`)
    this.#maskSecret = random(SECRET_BYTES)
    this.#encryptionSecret = random(SECRET_BYTES)
    this.#selfSeed = random(SECRET_BYTES)
    this.#random = random
  }

  readonly #random: (n: number) => Uint8Array

  get neighbours(): readonly Address[] {
    return this.#p.graph.get(this.device) as Address[]
  }

  advertise(): KeyAdvertisement {
    return { device: this.device, maskKey: x25519.getPublicKey(this.#maskSecret), encryptionKey: x25519.getPublicKey(this.#encryptionSecret) }
  }

  /** Step 2, once every neighbour's advertisement is known (a neighbour without one is left out). */
  share(adverts: readonly KeyAdvertisement[]): ShareDistribution {
    for (const a of adverts) {
      const device = checkDevice(a.device, 'advertisement.device')
      if (!this.#p.graph.has(device)) throw new SecAggProtocolError('KeyAdvertisement', `${device} is not a participant`, { device })
      if (!(a.maskKey instanceof Uint8Array) || a.maskKey.length !== 32 || !(a.encryptionKey instanceof Uint8Array) || a.encryptionKey.length !== 32)
        throw new SecAggProtocolError('KeyAdvertisement', 'keys must be 32-byte X25519 public keys', { device })
      this.#adverts.set(device, a)
    }
    const holders = this.neighbours.filter((n) => this.#adverts.has(n))
    if (holders.length < this.#p.threshold) throw new SecAggRecoveryError(this.device, 'advertisement', holders.length, this.#p.threshold)
    const xs = holders.map((h) => xOf(this.#p, h))
    const self = splitSecret({ secret: this.#selfSeed, threshold: this.#p.threshold, xs, random: this.#random })
    const pairwise = splitSecret({ secret: this.#maskSecret, threshold: this.#p.threshold, xs, random: this.#random })
    const shares: ShareDistribution['shares'] = []
    const commitments: ShareDistribution['commitments'] = []
    holders.forEach((to, i) => {
      const s = self[i] as Share
      const c = pairwise[i] as Share
      const key = shareKey(this.#p, this.device, to, x25519.getSharedSecret(this.#encryptionSecret, (this.#adverts.get(to) as KeyAdvertisement).encryptionKey))
      const payload = Buffer.concat([Buffer.from([s.x >> 8, s.x & 0xff, c.x >> 8, c.x & 0xff]), s.y, c.y])
      const cipher = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: TAG_BYTES })
      const ciphertext = Buffer.concat([cipher.update(payload), cipher.final(), cipher.getAuthTag()])
      shares.push({ to, ciphertext })
      commitments.push({ to, self: shareCommitment(this.#p, this.device, to, 'self', s), pairwise: shareCommitment(this.#p, this.device, to, 'pairwise', c) })
    })
    return { device: this.device, shares, commitments }
  }

  /** Step 3: takes the shares dealt to this device, and masks its update (quantised here). */
  mask(update: ArrayLike<number>, distributions: readonly ShareDistribution[]): MaskedInput {
    if (update.length !== this.#p.length) throw new SecAggProtocolError('MaskedInput', `the update has ${update.length} values, the round ${this.#p.length}`)
    // Pairwise masks only with neighbours that dealt their shares: those whose keys can be recovered.
    const dealers = new Set(distributions.map((d, i) => lower(checkDevice(d.device, `distributions.${i}.device`))))
    if (!dealers.has(lower(this.device))) throw new SecAggProtocolError('MaskedInput', 'this device’s own shares were not distributed; it cannot take part')
    for (const d of distributions) {
      const from = checkDevice(d.device, 'distribution.device')
      if (!this.neighbours.includes(from)) continue
      const mine = d.shares.find((s) => lower(s.to) === lower(this.device))
      if (mine === undefined) continue
      if (mine.ciphertext.length !== PAYLOAD_BYTES + TAG_BYTES) throw new SecAggProtocolError('ShareDistribution', `the share from ${from} is ${mine.ciphertext.length} bytes, not ${PAYLOAD_BYTES + TAG_BYTES}`, { device: from })
      const advert = this.#adverts.get(from)
      if (advert === undefined) throw new SecAggProtocolError('ShareDistribution', `${from} sent shares without an advertisement`, { device: from })
      const key = shareKey(this.#p, from, this.device, x25519.getSharedSecret(this.#encryptionSecret, advert.encryptionKey))
      const decipher = createDecipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: TAG_BYTES })
      decipher.setAuthTag(mine.ciphertext.subarray(PAYLOAD_BYTES))
      let payload: Buffer
      try {
        payload = Buffer.concat([decipher.update(mine.ciphertext.subarray(0, PAYLOAD_BYTES)), decipher.final()])
      } catch (err) {
        throw new SecAggProtocolError('ShareDistribution', `the share from ${from} does not decrypt`, { device: from, cause: String(err) })
      }
      const self = { x: payload.readUInt16BE(0), y: Uint8Array.from(payload.subarray(4, 4 + SHARE_BYTES)) }
      const pairwise = { x: payload.readUInt16BE(2), y: Uint8Array.from(payload.subarray(4 + SHARE_BYTES)) }
      if (self.x !== xOf(this.#p, this.device) || pairwise.x !== self.x) throw new SecAggProtocolError('ShareDistribution', `the share from ${from} is not at this device's point`, { device: from })
      this.#held.set(from, { self, pairwise })
    }
    const out = quantise(update, this.#p.fixedPoint)
    addInto(out, expandMask(selfSeed(this.#p, this.device, this.#selfSeed), out.length), 1)
    for (const n of this.neighbours) {
      const advert = this.#adverts.get(n)
      if (advert === undefined || !dealers.has(lower(n))) continue // a neighbour that dealt no shares masks nothing with this device
      const mask = expandMask(pairSeed(this.#p, this.device, n, x25519.getSharedSecret(this.#maskSecret, advert.maskKey)), out.length)
      addInto(out, mask, byAddress(this.device, n) < 0 ? 1 : -1)
    }
    return { device: this.device, masked: out }
  }

  /**
   * Step 4: told which neighbours submitted a masked input, reveals the self-mask share of each of
   * them and the pairwise-key share of each that did not. Once only, and never both for one device.
   */
  reveal(submitted: readonly Address[]): ShareReveal {
    if (this.#revealed) throw new SecAggProtocolError('ShareReveal', 'this device has revealed its shares for the round already')
    const survivors = new Set(submitted.map((d, i) => lower(checkDevice(d, `submitted.${i}`))))
    if (!survivors.has(lower(this.device))) throw new SecAggProtocolError('ShareReveal', 'the gateway says this device did not submit, so it reveals nothing')
    this.#revealed = true
    const shares: ShareReveal['shares'] = []
    for (const [of, held] of this.#held) shares.push(survivors.has(lower(of)) ? { of, kind: 'self', share: held.self } : { of, kind: 'pairwise', share: held.pairwise })
    return { device: this.device, shares }
  }
}

function addInto(target: Uint32Array, mask: Uint32Array, sign: 1 | -1): void {
  for (let i = 0; i < target.length; i++) target[i] = (sign === 1 ? (target[i] as number) + (mask[i] as number) : (target[i] as number) - (mask[i] as number)) >>> 0
}

export interface UnmaskSumParameters {
  params: SecAggParams
  adverts: readonly KeyAdvertisement[]
  distributions: readonly ShareDistribution[]
  /** The masked inputs that arrived: their senders are the survivors. */
  masked: readonly MaskedInput[]
  reveals: readonly ShareReveal[]
}

export interface BadShare {
  /** The device that revealed a share that does not match its dealer's commitment. */
  revealedBy: Address
  /** Whose secret the share was of. */
  of: Address
  kind: ShareKind
}

export interface UnmaskSumReturnType {
  /** Σ q(x_i) over the survivors, mod 2^32. */
  sum: Uint32Array
  survivors: Address[]
  dropped: Address[]
  badShares: BadShare[]
}

/**
 * Step 5: the sum of the survivors' quantised updates. Pure over the public messages: the gateway
 * and an auditor get the same words. A revealed share that does not match its commitment is set
 * aside and named in `badShares`; SecAggRecoveryError when a secret has too few good shares left.
 */
export function unmaskSum({ params, adverts, distributions, masked, reveals }: UnmaskSumParameters): UnmaskSumReturnType {
  const p = checkSecAggParams(params)
  const advertOf = new Map(adverts.map((a) => [getAddress(a.device), a]))
  const survivors = [...new Set(masked.map((m) => getAddress(m.device)))].sort(byAddress)
  if (survivors.length !== masked.length) throw new SecAggProtocolError('MaskedInput', 'two masked inputs from one device')
  const survivorSet = new Set(survivors.map(lower))
  const dealers = new Set(distributions.map((d) => lower(d.device)))
  const dropped = p.devices.filter((d) => advertOf.has(d) && dealers.has(lower(d)) && !survivorSet.has(lower(d)))
  for (const m of masked) {
    if (!p.graph.has(getAddress(m.device))) throw new SecAggProtocolError('MaskedInput', `${m.device} is not a participant`, { device: m.device })
    if (!advertOf.has(getAddress(m.device)) || !dealers.has(lower(m.device))) throw new SecAggProtocolError('MaskedInput', `${m.device} never advertised keys or dealt shares`, { device: m.device })
    if (!(m.masked instanceof Uint32Array) || m.masked.length !== p.length) throw new SecAggProtocolError('MaskedInput', `${m.device} sent ${m.masked.length} words, the round has ${p.length}`, { device: m.device })
  }
  const commitmentOf = new Map<string, Hex>()
  for (const d of distributions) for (const c of d.commitments) for (const kind of ['self', 'pairwise'] as const) commitmentOf.set(`${lower(d.device)}|${lower(c.to)}|${kind}`, c[kind])

  // Collect the good shares of each secret; a device never gets both of its secrets revealed.
  const good = new Map<string, Share[]>()
  const badShares: BadShare[] = []
  for (const r of reveals) {
    const by = getAddress(r.device)
    if (!survivorSet.has(lower(by))) continue // only survivors reveal
    for (const s of r.shares) {
      const of = getAddress(s.of)
      const expectedKind: ShareKind = survivorSet.has(lower(of)) ? 'self' : 'pairwise'
      if (s.kind !== expectedKind) throw new SecAggProtocolError('ShareReveal', `${by} revealed the ${s.kind} share of ${of}, which must stay secret`, { device: by, of })
      const commitment = commitmentOf.get(`${lower(of)}|${lower(by)}|${s.kind}`)
      if (commitment === undefined || s.share.y.length !== SHARE_BYTES || s.share.x !== xOf(p, by) || shareCommitment(p, of, by, s.kind, s.share) !== commitment) {
        badShares.push({ revealedBy: by, of, kind: s.kind })
        continue
      }
      const key = `${lower(of)}|${s.kind}`
      good.set(key, [...(good.get(key) ?? []), s.share])
    }
  }
  const recover = (device: Address, kind: ShareKind): Uint8Array => {
    const shares = good.get(`${lower(device)}|${kind}`) ?? []
    if (shares.length < p.threshold) throw new SecAggRecoveryError(device, kind === 'self' ? 'self-mask' : 'pairwise-key', shares.length, p.threshold)
    return combineShares(shares.slice(0, p.threshold))
  }

  const sum = new Uint32Array(p.length)
  for (const m of masked) addInto(sum, m.masked, 1)
  for (const device of survivors) addInto(sum, expandMask(selfSeed(p, device, recover(device, 'self')), p.length), -1)
  for (const device of dropped) {
    const secret = recover(device, 'pairwise')
    const advert = advertOf.get(device) as KeyAdvertisement
    if (Buffer.compare(Buffer.from(x25519.getPublicKey(secret)), Buffer.from(advert.maskKey)) !== 0)
      throw new SecAggProtocolError('ShareReveal', `the shares of ${device}'s pairwise key combine to a key that is not the one it advertised`, { device })
    for (const n of p.graph.get(device) as Address[]) {
      if (!survivorSet.has(lower(n))) continue
      const nAdvert = advertOf.get(n)
      if (nAdvert === undefined) continue
      // Survivor n masked with +PRG(s) when n < device, −PRG(s) otherwise: take it back out.
      const mask = expandMask(pairSeed(p, device, n, x25519.getSharedSecret(secret, nAdvert.maskKey)), p.length)
      addInto(sum, mask, byAddress(n, device) < 0 ? -1 : 1)
    }
  }
  return { sum, survivors, dropped, badShares }
}

/** Strategies that need only the sum of the updates, and so run on securely aggregated ones. */
export const SUM_STRATEGIES: readonly string[] = ['fedavg', 'fedprox', 'fedadam', 'fedyogi', 'fedadagrad']

/**
 * Refuses, at configuration, a strategy that needs the individual updates: median, trimmed mean
 * and Krum compare updates one by one, and gateway-side clipping scales each; on masked updates
 * the gateway has only their sum. The defence that works is a clip on the device (its bound in the
 * round's parameters and the update's norm checked where it is signed) with central DP on the sum.
 */
export function requireSumStrategy(strategy: string): void {
  if (!SUM_STRATEGIES.includes(strategy))
    throw new PrivacyStrategyError(strategy, 'secure aggregation', `the gateway sees only the sum of masked updates (${SUM_STRATEGIES.join(', ')} need no more); clip on the devices and add central DP instead`)
}
