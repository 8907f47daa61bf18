// One serial port that survives unplugging: when the port disappears (serialport closes it with a
// `disconnected` error) the connection reports it, then reopens the same path with capped,
// jittered exponential back-off until it comes back, the attempts run out, or it is closed.
// Shared by the serial-line and firmata drivers.
//
// The kernel does not always tell: after a hang-up a tty read returns 0 (EOF), and serialport 13
// then retries the read forever without emitting anything. So the connection also watches the
// device node: when the path is gone, or now names another device (a different rdev/inode), the
// port is closed and treated as unplugged.

import { stat } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { SerialPort } from 'serialport'
import { SensorReconnectFailedError } from '../errors.js'
import { abortable } from './abstract-sensor.js'
import { backoffDelay, sleep } from './backoff.js'
import type { ReconnectConfig } from './config.js'
import { PRESENCE_CHECK_MS } from './constants.js'

export interface SerialConnectionParameters {
  /** The sensor's id, for errors. */
  readonly sensor: string
  readonly path: string
  readonly baudRate: number
  readonly reconnect: ReconnectConfig
  readonly logger: Logger
  readonly onData: (chunk: Buffer) => void
  /** The port went away; reconnection starts. */
  readonly onDisconnect: (error: Error) => void
  /**
   * A port reopened after a disconnection. Throwing (e.g. a board that does not answer its
   * handshake) closes it again and counts as a failed attempt.
   */
  readonly onReopen: (port: SerialPort, signal: AbortSignal) => Promise<void>
  /** Reopened and `onReopen` succeeded. */
  readonly onReconnect: () => void
  /** The attempts ran out. */
  readonly onFail: (error: Error) => void
  /** For tests: the jitter source. */
  readonly random?: () => number
}

export class SerialConnection {
  readonly #params: SerialConnectionParameters
  #port: SerialPort | undefined
  #stopping: AbortController | undefined
  #reconnecting: Promise<void> | undefined
  // Set while a reopened port is being checked (onReopen); its closing aborts that check.
  #attempt: AbortController | undefined
  #errors = 0
  #watchdog: NodeJS.Timeout | undefined
  #lost: Error | undefined

  constructor(params: SerialConnectionParameters) {
    this.#params = params
  }

  get port(): SerialPort | undefined {
    return this.#port
  }

  /** Port errors that were not a disconnection (e.g. a failed write); logged and counted. */
  get errors(): number {
    return this.#errors
  }

  /** Opens the port the first time; rejects (nothing left open) when it cannot. */
  async open(signal: AbortSignal): Promise<SerialPort> {
    this.#stopping = new AbortController()
    const port = await this.#openPort(signal)
    this.#attach(port, await this.#identity())
    return port
  }

  /** Stops any reconnection and closes the port. */
  async close(): Promise<void> {
    this.#stopping?.abort()
    this.#stopWatchdog()
    await this.#reconnecting
    const port = this.#port
    this.#port = undefined
    if (port !== undefined) await closePort(port, this.#params.logger)
  }

  async #openPort(signal: AbortSignal): Promise<SerialPort> {
    const { path, baudRate } = this.#params
    // Loaded on first use: importing the sensors should not load a native addon nobody needs.
    const { SerialPort } = await import('serialport')
    const port = new SerialPort({ path, baudRate, autoOpen: false })
    // An 'error' event without a listener would crash the process; every port gets one at birth.
    port.on('error', (error) => {
      this.#errors++
      this.#params.logger.warn({ err: error, path }, 'serial port error')
    })
    const opened = new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())))
    try {
      await abortable(opened, signal)
    } catch (error) {
      // If the abort won, the port may still open: close it when it does.
      opened.then(
        () => closePort(port, this.#params.logger),
        () => undefined, // the open failed: nothing to close, and the caller already has the reason
      )
      throw error
    }
    return port
  }

  #attach(port: SerialPort, identity: string | undefined): void {
    this.#port = port
    this.#lost = undefined
    port.on('data', this.#params.onData)
    this.#startWatchdog(port, identity)
    port.once('close', (closeError: (Error & { disconnected?: boolean }) | null) => {
      port.off('data', this.#params.onData)
      if (this.#port !== port) return // closed by us
      this.#stopWatchdog()
      this.#port = undefined
      const error = this.#lost ?? closeError
      if (this.#stopping?.signal.aborted === true) return
      if (this.#attempt !== undefined) {
        // Lost again while being checked: that attempt fails and the running loop goes on.
        this.#attempt.abort(error ?? new Error('port closed'))
        return
      }
      const cause = error ?? new Error('port closed')
      this.#params.onDisconnect(cause)
      this.#reconnecting = this.#reconnect().finally(() => {
        this.#reconnecting = undefined
      })
    })
  }

  /** The device behind the path (rdev and inode, through symlinks), or undefined when it is gone. */
  async #identity(): Promise<string | undefined> {
    try {
      const s = await stat(this.#params.path)
      return `${s.rdev}:${s.ino}`
    } catch {
      return undefined
    }
  }

  #startWatchdog(port: SerialPort, identity: string | undefined): void {
    this.#stopWatchdog()
    if (identity === undefined) return // not a file we can stat (e.g. a platform path); rely on serialport
    let checking = false
    this.#watchdog = setInterval(() => {
      if (checking) return
      checking = true
      void this.#identity().then((now) => {
        checking = false
        if (now === identity || this.#port !== port) return
        this.#lost = new Error(`${this.#params.path} ${now === undefined ? 'disappeared' : 'now names another device'}`)
        this.#params.logger.debug({ path: this.#params.path }, 'serial device node gone; closing the port')
        port.close((error) => {
          if (error) this.#params.logger.debug({ err: error }, 'closing a vanished port failed')
        })
      })
    }, PRESENCE_CHECK_MS)
    this.#watchdog.unref()
  }

  #stopWatchdog(): void {
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog)
    this.#watchdog = undefined
  }

  async #reconnect(): Promise<void> {
    const { reconnect, logger, path } = this.#params
    const stop = this.#stopping?.signal ?? AbortSignal.abort()
    for (let n = 0; ; n++) {
      if (reconnect.maxAttempts !== undefined && n >= reconnect.maxAttempts) {
        this.#params.onFail(new SensorReconnectFailedError(this.#params.sensor, n, { details: { path } }))
        return
      }
      const wait = backoffDelay(n, reconnect, this.#params.random)
      try {
        await sleep(wait, stop)
      } catch {
        return // closed while waiting
      }
      let port: SerialPort | undefined
      const attempt = new AbortController()
      try {
        port = await this.#openPort(stop)
        // Attached before onReopen, which may need to hear the device (a handshake).
        this.#attempt = attempt
        this.#attach(port, await this.#identity())
        await this.#params.onReopen(port, AbortSignal.any([stop, attempt.signal]))
        if (stop.aborted || attempt.signal.aborted) throw new Error('aborted')
      } catch (error) {
        if (port !== undefined) {
          if (this.#port === port) this.#port = undefined
          await closePort(port, logger)
        }
        if (stop.aborted) return
        logger.debug({ err: error, attempt: n, path }, 'reconnect attempt failed')
        continue
      } finally {
        this.#attempt = undefined
      }
      this.#params.onReconnect()
      return
    }
  }
}

/** Closes a port, tolerating one that is already closed or vanished. */
export async function closePort(port: SerialPort, logger: Logger): Promise<void> {
  if (!port.isOpen) return
  await new Promise<void>((resolve) =>
    port.close((error) => {
      if (error) logger.debug({ err: error }, 'closing a serial port failed')
      resolve()
    }),
  )
}
