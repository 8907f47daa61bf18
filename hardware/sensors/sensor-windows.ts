// Windows straight from a sensor's events: the Windower runs inside the `data` listener, and only
// finished windows are queued for the async reader. A reading then costs no promise of its own,
// which is what lets a small board window thousands of readings per second (see
// bench/hardware-sensors.ts); `windows(sensor.readings(), …)` gives the same windows at the cost
// of one await per reading.
//
// The queue holds at most `capacity` windows and drops the oldest when the reader falls behind
// (counted in `dropped`). A disconnection is a gap: the partial window is discarded, and the next
// window starts with the first reading after the reconnection. A replay or synthetic sensor at
// speed 'max' paces itself by its readings() iterators only; with none, it does not wait for a
// window reader, so give it a finite speed (or a readings() reader) when windows must not drop.

import { InvalidArgumentError } from '../../protocols/errors.js'
import { SensorStateError } from '../errors.js'
import { BoundedQueue } from './bounded-queue.js'
import { DEFAULT_WINDOW_QUEUE_CAPACITY, MAX_QUEUE_CAPACITY } from './constants.js'
import type { Reading, Sensor } from './sensor.js'
import { Windower, type SensorWindow, type WindowOptions } from './windowing.js'

export interface SensorWindowsOptions {
  /** Windows buffered before the oldest is dropped. */
  readonly capacity?: number
  /** Ends the iteration. */
  readonly signal?: AbortSignal
}

export interface SensorWindowIterator extends AsyncIterableIterator<SensorWindow> {
  /** Windows dropped because the reader fell behind. */
  readonly dropped: number
}

export function sensorWindows(sensor: Sensor, options: WindowOptions, { capacity = DEFAULT_WINDOW_QUEUE_CAPACITY, signal }: SensorWindowsOptions = {}): SensorWindowIterator {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_QUEUE_CAPACITY) {
    throw new InvalidArgumentError('capacity', `must be an integer in 1..${MAX_QUEUE_CAPACITY}`)
  }
  if (options.channels !== sensor.channels.length) {
    throw new InvalidArgumentError('channels', `the sensor has ${sensor.channels.length} channels, not ${options.channels}`)
  }
  const status = sensor.status
  if (status === 'closed' || status === 'closing' || status === 'failed') throw new SensorStateError(sensor.id, 'read windows', status)
  const windower = new Windower(options)
  const queue = new BoundedQueue<SensorWindow>(capacity)

  const onData = (reading: Reading): void => {
    const window = windower.push(reading)
    if (window !== undefined) queue.push(window)
  }
  const onGap = (): void => windower.reset()
  const onEnd = (): void => finish()
  const onFailed = (error: Error): void => {
    queue.fail(error)
    detach()
  }
  const detach = (): void => {
    sensor.off('data', onData)
    sensor.off('disconnected', onGap)
    sensor.off('end', onEnd)
    sensor.off('close', onEnd)
    sensor.off('failed', onFailed)
    signal?.removeEventListener('abort', onAbort)
  }
  const finish = (): void => {
    queue.end()
    detach()
  }
  const onAbort = (): void => {
    queue.clear()
    detach()
  }

  if (status === 'ended') queue.end()
  else {
    sensor.on('data', onData)
    sensor.on('disconnected', onGap)
    sensor.on('end', onEnd)
    sensor.on('close', onEnd)
    sensor.on('failed', onFailed)
    if (signal?.aborted === true) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
  }

  const iterator: SensorWindowIterator = {
    get dropped() {
      return queue.dropped
    },
    next: () => queue.next(),
    return: async () => {
      onAbort()
      return { value: undefined, done: true }
    },
    [Symbol.asyncIterator]: () => iterator,
  }
  return iterator
}
