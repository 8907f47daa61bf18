// Reconnection delays: exponential, capped, with jitter so that a fleet of devices that lost the
// same hub does not retry in lock-step.

import { setTimeout as delay } from 'node:timers/promises'

export interface BackoffParameters {
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  readonly factor: number
  /** 0: no jitter; 1: anywhere from 0 to the full delay ("full jitter"). */
  readonly jitter: number
}

/**
 * The delay before reconnect attempt `attempt` (0-based): min(max, initial · factor^attempt),
 * less a random fraction of up to `jitter` of it. Never above `maxDelayMs`, never negative.
 */
export function backoffDelay(attempt: number, params: BackoffParameters, random: () => number = Math.random): number {
  const base = Math.min(params.maxDelayMs, params.initialDelayMs * params.factor ** Math.min(attempt, 64))
  return Math.max(0, base * (1 - params.jitter * random()))
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal === undefined ? {} : { signal })
}
