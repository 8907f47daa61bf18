// The device's validation split: a sample is held out when a fixed hash of its sequence number and
// the device's seed falls below the fraction. Unlike a shuffled split it is stable as the data set
// grows: a sample once held out is never trained on later, so scores across rounds compare.

/** murmur3's 32-bit finaliser (fmix32), a cheap, well-mixed hash of one word. */
function fmix32(h: number): number {
  let x = h >>> 0
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}

export function isValidationSample(seq: number, seed: number, fraction: number): boolean {
  if (fraction <= 0) return false
  const h = fmix32(fmix32(seq) ^ Math.imul(seed >>> 0, 0x9e3779b1))
  return h / 0x1_0000_0000 < fraction
}

/** A device's seed: the first four bytes of its address. */
export const seedOf = (address: string): number => Number.parseInt(address.slice(2, 10), 16) >>> 0
