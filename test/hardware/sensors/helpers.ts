// Small helpers shared by the sensor tests.

import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { pino, type Logger } from 'pino'
import type { Reading, Sensor, SensorEvents } from '../../../hardware/sensors/index.js'

export const ECG_FILE = fileURLToPath(new URL('../../../data/ecg_mitbih208_360hz_adc.csv.gz', import.meta.url))
export const ECG_RATE = 360

export interface LogEntry {
  readonly level: number
  readonly msg: string
  readonly component?: string
  readonly [key: string]: unknown
}

/** A pino logger whose entries land in `entries` (level ≥ debug). */
export function captureLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') entries.push(JSON.parse(line) as LogEntry)
      callback()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), entries }
}

/** pino levels. */
export const WARN = 40

/** Resolves with the event's arguments, or rejects after `ms`. */
export function waitForEvent<K extends keyof SensorEvents>(sensor: Sensor, event: K, ms = 5_000): Promise<SensorEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sensor.off(event, listener)
      reject(new Error(`no ${String(event)} event within ${ms} ms`))
    }, ms)
    const listener = (...args: SensorEvents[K]): void => {
      clearTimeout(timer)
      sensor.off(event, listener)
      resolve(args)
    }
    sensor.on(event, listener)
  })
}

/** The next `count` readings from an iterator (fewer if it ends), failing after `ms`. */
export async function take(iterator: AsyncIterator<Reading>, count: number, ms = 5_000): Promise<Reading[]> {
  const out: Reading[] = []
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${out.length} of ${count} readings within ${ms} ms`)), ms)
  })
  try {
    while (out.length < count) {
      const next = await Promise.race([iterator.next(), timeout])
      if (next.done === true) break
      out.push(next.value)
    }
  } finally {
    clearTimeout(timer)
  }
  return out
}

/** Waits until `condition()` holds, checking on each sensor `data` event and every 20 ms. */
export async function until(condition: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`${what} not met within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
