// Non-IID splits for simulated fleets: each class spread over the devices by a Dirichlet(α) draw
// with a fixed seed (the usual way federated-learning papers make skewed devices). Used by the demo
// fleet and by the fleet simulation of the tests.

/** mulberry32: a small seeded generator, so that a seed gives the same shards everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Gamma(shape, 1) by Marsaglia and Tsang (2000), with the shape < 1 boost. */
function gamma(shape: number, rand: () => number): number {
  if (shape < 1) return gamma(shape + 1, rand) * rand() ** (1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    let x: number
    let v: number
    do {
      // Box–Muller normal.
      x = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
      v = 1 + c * x
    } while (v <= 0)
    v = v * v * v
    const u = rand()
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v
  }
}

/** Splits sample indices over `devices` so each class is spread by a Dirichlet(α) draw. */
export function dirichletSplit(labels: ArrayLike<number>, classes: number, devices: number, alpha: number, seed: number): number[][] {
  const rand = prng(seed)
  const shards: number[][] = Array.from({ length: devices }, () => [])
  for (let c = 0; c < classes; c++) {
    const members: number[] = []
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) members.push(i)
    const weights = Array.from({ length: devices }, () => gamma(alpha, rand))
    const sum = weights.reduce((a, b) => a + b, 0)
    let start = 0
    weights.forEach((w, d) => {
      const end = d === devices - 1 ? members.length : Math.min(members.length, start + Math.round((w / sum) * members.length))
      ;(shards[d] as number[]).push(...members.slice(start, end))
      start = end
    })
  }
  return shards
}
