// The two special functions the RDP accountant needs, in double precision: log|Γ(x)| and
// log(erfc(x)), the latter accurate far into the tail where erfc itself underflows.

// Lanczos approximation, g = 7, n = 9 (Numerical Recipes, 3rd ed., §6.1; coefficients as
// published by Godfrey): relative error below 1e-15 for x ≥ 0.5.
const LANCZOS_G = 7
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
] as const
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI)

/** log|Γ(x)|, as scipy.special.gammaln; +Infinity at the poles (0, −1, −2, …). */
export function logGamma(x: number): number {
  if (Number.isInteger(x) && x <= 0) return Infinity
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI) - Math.log(Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x)
  }
  const z = x - 1
  let sum = LANCZOS[0]
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i)
  const t = z + LANCZOS_G + 0.5
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum)
}

/** log of the binomial coefficient |C(n, k)| for real n, k, through log|Γ| as the reference does. */
export function logComb(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1)
}

const SERIES_LIMIT = 3
const CONTINUED_FRACTION_TERMS = 300
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI)
const HALF_LOG_PI = 0.5 * Math.log(Math.PI)

/** erf(x) by its Maclaurin series (Abramowitz & Stegun 7.1.5); used for |x| < 3. */
function erfSeries(x: number): number {
  const x2 = x * x
  let term = x
  let sum = x
  for (let n = 1; n < 200; n++) {
    term *= -x2 / n
    const add = term / (2 * n + 1)
    sum += add
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break
  }
  return TWO_OVER_SQRT_PI * sum
}

/**
 * log erfc(x) for x ≥ 3 from the continued fraction (A&S 7.1.14),
 * erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated backwards.
 */
function logErfcTail(x: number): number {
  let f = x
  for (let n = CONTINUED_FRACTION_TERMS; n >= 1; n--) f = x + n / 2 / f
  return -x * x - HALF_LOG_PI - Math.log(f)
}

/** log(erfc(x)) for every real x. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x >= SERIES_LIMIT) return logErfcTail(x)
  if (x > -SERIES_LIMIT) return Math.log1p(-erfSeries(x))
  // erfc(x) = 2 − erfc(−x), and erfc(−x) is tiny here.
  return Math.log(2) + Math.log1p(-Math.exp(logErfcTail(-x)) / 2)
}

/** log(e^a + e^b) without overflow. */
export function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b)
  const hi = Math.max(a, b)
  if (lo === -Infinity) return hi
  return Math.log1p(Math.exp(lo - hi)) + hi
}
