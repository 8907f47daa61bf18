// Exponential backoff with "equal jitter" (AWS Architecture Blog, "Exponential Backoff And
// Jitter", 2015): half the capped exponential delay is kept, the other half is random, so
// devices that failed together do not retry together, and no retry comes sooner than half the step.

export interface BackoffParameters {
  baseMs: number
  maxMs: number
  /** In [0, 1); Math.random by default. */
  random?: () => number
}

/** Delay before retry number `attempt` (1 for the first retry). */
export function backoffDelay(attempt: number, { baseMs, maxMs, random = Math.random }: BackoffParameters): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30)
  const capped = Math.min(maxMs, baseMs * 2 ** exponent)
  return Math.round(capped / 2 + random() * (capped / 2))
}
