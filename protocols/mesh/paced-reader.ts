// Reads a stream at its reader's pace. The stream stays paused whenever no read is waiting, so
// the muxer stops granting the sender window (yamux sends no window update while paused) and an
// honest sender stops at the window it already has. Bytes that arrive beyond what a read asked for
// are held up to `slackBytes`; past that the stream is a violator and is cut off. The gateway side
// of the update protocol reads through this, so that what an unknown peer sends before it is
// verified costs at most `slackBytes` of memory.
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { FrameTooLargeError, InvalidArgumentError, StreamProtocolError } from '../errors.js'

export interface PacedReaderInit {
  /** The protocol, for error messages. */
  protocol: string
  /** Most bytes held beyond what the current read asked for (and in the stream's own buffer while paused). */
  slackBytes: number
  /** Called once, when the first bytes arrive. */
  onFirstBytes?: () => void
}

export class PacedReader {
  readonly #stream: Stream
  readonly #protocol: string
  readonly #slack: number
  readonly #buffer = new Uint8ArrayList()
  /** A readInto in progress: arriving bytes go straight into it. */
  #target: { bytes: Uint8Array; at: number } | undefined
  #want = 0
  #wake: Deferred | undefined
  #failure: Error | undefined
  #ended = false
  #onFirstBytes: (() => void) | undefined

  constructor(stream: Stream, init: PacedReaderInit) {
    if (!Number.isInteger(init.slackBytes) || init.slackBytes < 1) throw new InvalidArgumentError('slackBytes', 'must be a positive integer')
    this.#stream = stream
    this.#protocol = init.protocol
    this.#slack = init.slackBytes
    this.#onFirstBytes = init.onFirstBytes
    // While paused the stream keeps what arrives in its own buffer; it aborts itself past this.
    stream.maxReadBufferLength = init.slackBytes
    this.#pause()
    stream.addEventListener('message', this.#onMessage)
    stream.addEventListener('close', this.#onClose)
    stream.addEventListener('remoteCloseWrite', this.#onRemoteCloseWrite)
  }

  /** Bytes held now: read ahead here, and waiting in the paused stream. */
  get heldBytes(): number {
    return this.#buffer.byteLength + this.#stream.readBufferLength
  }

  /** Reads exactly `n` bytes (at most slackBytes). */
  async read(n: number, options: { signal?: AbortSignal } = {}): Promise<Uint8ArrayList> {
    if (!Number.isInteger(n) || n < 0 || n > this.#slack) throw new InvalidArgumentError('n', `must be an integer in 0..${this.#slack}`)
    while (this.#buffer.byteLength < n) await this.#more(n, options.signal)
    this.#want = 0
    this.#pause()
    const out = this.#buffer.sublist(0, n)
    this.#buffer.consume(n)
    return out
  }

  /** Fills `bytes` from the stream, copying each chunk as it arrives (nothing is held twice). */
  async readInto(bytes: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    const target = { bytes, at: 0 }
    const first = Math.min(this.#buffer.byteLength, bytes.length)
    if (first > 0) {
      bytes.set(this.#buffer.subarray(0, first), 0)
      this.#buffer.consume(first)
      target.at = first
    }
    this.#target = target
    try {
      while (target.at < bytes.length) await this.#more(0, options.signal)
    } finally {
      this.#target = undefined
      this.#pause()
    }
  }

  /** Stops listening; the stream itself is left to its owner. */
  release(): void {
    this.#stream.removeEventListener('message', this.#onMessage)
    this.#stream.removeEventListener('close', this.#onClose)
    this.#stream.removeEventListener('remoteCloseWrite', this.#onRemoteCloseWrite)
    this.#buffer.consume(this.#buffer.byteLength)
    this.#wake?.resolve()
  }

  async #more(want: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    signal?.throwIfAborted()
    if (this.#ended && this.#stream.readBufferLength === 0) {
      const have = this.#target === undefined ? this.#buffer.byteLength : this.#target.at
      const need = this.#target === undefined ? want : this.#target.bytes.length
      throw new StreamProtocolError(this.#protocol, `the stream ended after ${have} of ${need} bytes`)
    }
    this.#want = want
    const wake = deferred()
    this.#wake = wake
    const onAbort = (): void => wake.reject(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      this.#resume()
      await wake.promise
    } finally {
      signal?.removeEventListener('abort', onAbort)
      this.#wake = undefined
    }
  }

  #satisfied(): boolean {
    return this.#target === undefined ? this.#buffer.byteLength >= this.#want : this.#target.at >= this.#target.bytes.length
  }

  readonly #onMessage = (evt: StreamMessageEvent): void => {
    if (this.#failure !== undefined) return
    const first = this.#onFirstBytes
    if (first !== undefined) {
      this.#onFirstBytes = undefined
      first()
    }
    let data = evt.data instanceof Uint8Array ? new Uint8ArrayList(evt.data) : evt.data
    const target = this.#target
    if (target !== undefined) {
      const n = Math.min(data.byteLength, target.bytes.length - target.at)
      if (n > 0) {
        target.bytes.set(data.subarray(0, n), target.at)
        target.at += n
        data = data.sublist(n)
      }
    }
    if (data.byteLength > 0) this.#buffer.append(data)
    if (this.#buffer.byteLength > this.#slack) {
      this.#fail(new FrameTooLargeError(this.#protocol, this.#slack, { details: { reason: 'read-ahead' } }))
      return
    }
    if (this.#satisfied()) {
      this.#pause()
      this.#wake?.resolve()
    }
  }

  readonly #onClose = (evt: StreamCloseEvent): void => {
    if (evt.error !== undefined) this.#fail(evt.error)
    else {
      this.#ended = true
      this.#wake?.resolve()
    }
  }

  readonly #onRemoteCloseWrite = (): void => {
    this.#ended = true
    this.#wake?.resolve()
  }

  #fail(err: Error): void {
    this.#failure ??= err
    this.#buffer.consume(this.#buffer.byteLength)
    this.#wake?.reject(this.#failure)
  }

  #pause(): void {
    const status = this.#stream.readStatus
    if (status === 'readable') this.#stream.pause()
  }

  #resume(): void {
    const status = this.#stream.readStatus
    if (status === 'paused') this.#stream.resume()
  }
}

interface Deferred {
  promise: Promise<void>
  resolve(): void
  reject(reason: unknown): void
}

function deferred(): Deferred {
  let resolve: () => void = () => undefined
  let reject: (reason: unknown) => void = () => undefined
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
