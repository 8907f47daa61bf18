// Shamir secret sharing (Shamir 1979, "How to share a secret") over GF(2^521 − 1): a secret is
// the constant term of a random polynomial of degree t − 1; share x is (x, f(x)); any t shares
// give f(0) by Lagrange interpolation, fewer give nothing. Field arithmetic is @noble/curves'.
import { Field } from '@noble/curves/abstract/modular.js'
import { randomBytes } from 'node:crypto'
import { InvalidArgumentError } from '../errors.js'
import { SECRET_BYTES, SHAMIR_PRIME, SHARE_BYTES } from './constants.js'

const F = Field(SHAMIR_PRIME)

export interface Share {
  /** The evaluation point, 1..65535 (never 0: f(0) is the secret). */
  x: number
  /** f(x), SHARE_BYTES big-endian. */
  y: Uint8Array
}

const toBig = (bytes: Uint8Array): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`))
const toBytes = (v: bigint, length: number): Uint8Array => Uint8Array.from(Buffer.from(v.toString(16).padStart(length * 2, '0'), 'hex'))

/** A uniformly random field element, by rejection from 66 random bytes with the top bits cleared. */
function randomElement(random: (n: number) => Uint8Array): bigint {
  for (;;) {
    const bytes = random(SHARE_BYTES)
    bytes[0] = (bytes[0] as number) & 0x01 // 521 bits
    const v = toBig(bytes)
    if (v < SHAMIR_PRIME) return v
  }
}

export interface SplitSecretParameters {
  secret: Uint8Array
  threshold: number
  /** Evaluation points, one per holder, distinct, in 1..65535. */
  xs: readonly number[]
  random?: (n: number) => Uint8Array
}

export function splitSecret({ secret, threshold, xs, random = (n) => randomBytes(n) }: SplitSecretParameters): Share[] {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_BYTES) throw new InvalidArgumentError('secret', `must be ${SECRET_BYTES} bytes`)
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length) throw new InvalidArgumentError('threshold', `must be an integer in 1..${xs.length}`)
  if (new Set(xs).size !== xs.length || xs.some((x) => !Number.isInteger(x) || x < 1 || x > 65535)) throw new InvalidArgumentError('xs', 'must be distinct integers in 1..65535')
  const coefficients = [toBig(secret), ...Array.from({ length: threshold - 1 }, () => randomElement(random))]
  return xs.map((x) => {
    // Horner's rule.
    let y = 0n
    for (let i = coefficients.length - 1; i >= 0; i--) y = F.add(F.mul(y, BigInt(x)), coefficients[i] as bigint)
    return { x, y: toBytes(y, SHARE_BYTES) }
  })
}

/** f(0) from exactly the shares given (at least the threshold, distinct x): the secret. */
export function combineShares(shares: readonly Share[]): Uint8Array {
  if (shares.length === 0) throw new InvalidArgumentError('shares', 'none given')
  if (new Set(shares.map((s) => s.x)).size !== shares.length) throw new InvalidArgumentError('shares', 'two shares have the same x')
  let secret = 0n
  for (const [i, si] of shares.entries()) {
    if (si.y.length !== SHARE_BYTES) throw new InvalidArgumentError(`shares.${i}.y`, `must be ${SHARE_BYTES} bytes`)
    const yi = toBig(si.y)
    if (yi >= SHAMIR_PRIME) throw new InvalidArgumentError(`shares.${i}.y`, 'is not a field element')
    // Lagrange basis at 0: Π_{j≠i} x_j / (x_j − x_i).
    let num = 1n
    let den = 1n
    for (const [j, sj] of shares.entries()) {
      if (i === j) continue
      num = F.mul(num, BigInt(sj.x))
      den = F.mul(den, F.sub(BigInt(sj.x), BigInt(si.x)))
    }
    secret = F.add(secret, F.mul(yi, F.div(num, den)))
  }
  if (secret >= 2n ** BigInt(SECRET_BYTES * 8)) throw new InvalidArgumentError('shares', 'do not combine to a secret of this size (wrong or too few shares)')
  return toBytes(secret, SECRET_BYTES)
}
