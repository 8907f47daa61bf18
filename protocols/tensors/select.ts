// The k-th largest value of an array in expected linear time (Hoare's selection), for top-k
// sparsification; a full sort ran top-k encoding at ~40 MB/s in bench/protocols.ts.

/**
 * Rearranges `values` (a scratch copy: it is modified) and returns its k-th largest element,
 * 1 <= k <= length. Pivots come from a fixed-seed generator, so the work done is reproducible;
 * the returned value does not depend on the pivots at all.
 */
export function kthLargest(values: Float32Array, k: number): number {
  const target = values.length - k // index of the k-th largest in ascending order
  let lo = 0
  let hi = values.length - 1
  let seed = 0x9e3779b9
  while (lo < hi) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
    const pivot = values[lo + (seed % (hi - lo + 1))] as number
    // Three-way partition: [lo, lt) < pivot, [lt, gt] == pivot, (gt, hi] > pivot.
    let lt = lo
    let gt = hi
    let i = lo
    while (i <= gt) {
      const v = values[i] as number
      if (v < pivot) {
        values[i++] = values[lt] as number
        values[lt++] = v
      } else if (v > pivot) {
        values[i] = values[gt] as number
        values[gt--] = v
      } else {
        i++
      }
    }
    if (target < lt) hi = lt - 1
    else if (target > gt) lo = gt + 1
    else return pivot
  }
  return values[target] as number
}
