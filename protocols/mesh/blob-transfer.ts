// /counterweight/model/1.0.0 (and /counterweight/record/1.0.0): fetch a blob by sha256 from any
// peer that holds it. Each request frame is sha256 ‖ offset ‖ length (one window at most); the
// answer is a header frame (RESPONSE_OK ‖ total size) and data frames of at most
// BLOB_CHUNK_BYTES covering that window. The receiver asks for the next window when it has
// stored this one, so it never buffers more than a window.
// The receiver appends each frame to a partial blob in its store, so an interrupted transfer
// resumes from where it stopped, and keeps the blob only when its bytes hash to the key.
import type { Connection, DialTarget, Libp2p, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { bytesToHex, hexToBytes, type Hex } from 'viem'
import {
  BaseError,
  BlobNotFoundError,
  InvalidArgumentError,
  MessageTooLargeError,
  StreamProtocolError,
  TooManyStreamsError,
} from '../errors.js'
import { checkHash, type AbstractBlobStore } from './blob-store.js'
import {
  BLOB_CHUNK_BYTES,
  BLOB_FRAME_TIMEOUT_MS,
  BLOB_HEADER_BYTES,
  BLOB_REQUEST_BYTES,
  BLOB_WINDOW_BYTES,
  LIBP2P_STREAM_LIMIT_MARGIN,
  MAX_BLOB_STREAMS_PER_PEER,
  MAX_BLOB_STREAMS_TOTAL,
  MAX_ERROR_FRAME_BYTES,
} from './constants.js'
import { framed, okFrame, parseResponse, readUint32, readUint64, rejectStream, toStreamError, writeUint32, writeUint64 } from './frames.js'
import { StreamLimiter } from './stream-limiter.js'

export interface BlobTransferComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  logger: Logger
}

export interface BlobTransferInit {
  protocol: string
  store: AbstractBlobStore
  /** Largest blob fetched or served. */
  maxBlobBytes: number
  /** Serve blobs held in `store` to other peers (agents serve what they cached). */
  serve?: boolean
  chunkBytes?: number
  frameTimeoutMs?: number
  maxStreamsPerPeer?: number
  maxStreamsTotal?: number
}

export interface FetchBlobOptions {
  signal?: AbortSignal
  /** Called after each data frame is stored, with the bytes held so far and the total. */
  onProgress?: (received: number, size: number) => void
}

export interface FetchBlobReturnType {
  size: number
  /** Offset the transfer started from: above 0 when it resumed an interrupted one. */
  resumedFrom: number
  /** Bytes that crossed the network in this call. */
  transferred: number
}

export class BlobTransfer {
  readonly protocol: string
  readonly store: AbstractBlobStore
  readonly #components: BlobTransferComponents
  readonly #log: Logger
  readonly #maxBlobBytes: number
  readonly #serve: boolean
  readonly #chunkBytes: number
  readonly #frameTimeoutMs: number
  readonly #limiter: StreamLimiter
  #started = false

  constructor(components: BlobTransferComponents, init: BlobTransferInit) {
    this.#components = components
    this.protocol = init.protocol
    this.store = init.store
    this.#log = components.logger.child({ component: `mesh:blob`, protocol: init.protocol })
    this.#maxBlobBytes = init.maxBlobBytes
    this.#serve = init.serve ?? true
    this.#chunkBytes = init.chunkBytes ?? BLOB_CHUNK_BYTES
    if (!Number.isSafeInteger(this.#chunkBytes) || this.#chunkBytes <= 0 || this.#chunkBytes > BLOB_CHUNK_BYTES)
      throw new InvalidArgumentError('chunkBytes', `expected 1 to ${BLOB_CHUNK_BYTES}`)
    this.#frameTimeoutMs = init.frameTimeoutMs ?? BLOB_FRAME_TIMEOUT_MS
    this.#limiter = new StreamLimiter({
      maxPerPeer: init.maxStreamsPerPeer ?? MAX_BLOB_STREAMS_PER_PEER,
      maxTotal: init.maxStreamsTotal ?? MAX_BLOB_STREAMS_TOTAL,
    })
    this.handleStream = this.handleStream.bind(this)
  }

  async start(): Promise<void> {
    if (this.#started || !this.#serve) return
    await this.#components.libp2p.handle(this.protocol, this.handleStream, {
      maxInboundStreams: this.#limiter.maxPerPeer + LIBP2P_STREAM_LIMIT_MARGIN,
    })
    this.#started = true
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    await this.#components.libp2p.unhandle(this.protocol)
    this.#started = false
  }

  #stepSignal(outer?: AbortSignal): AbortSignal {
    const step = AbortSignal.timeout(this.#frameTimeoutMs)
    return outer === undefined ? step : AbortSignal.any([outer, step])
  }

  /**
   * Serves requests on one stream, one window each: a header frame (RESPONSE_OK ‖ total size)
   * then the asked bytes. Ends when the requester closes its side; a bad request gets an error
   * frame and a reset.
   */
  async handleStream(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    if (!this.#limiter.acquire(peer)) {
      this.#log.warn({ peer }, 'too many blob streams')
      await rejectStream(stream, new TooManyStreamsError(this.protocol, this.#limiter.maxPerPeer))
      return
    }
    let signal = this.#stepSignal()
    let served = 0
    try {
      const lp = framed(stream, BLOB_REQUEST_BYTES)
      for (;;) {
        let request: Uint8Array
        try {
          request = (await lp.read({ signal })).subarray()
        } catch (err) {
          // The requester closed its side after a window: the normal end of a transfer.
          if (served > 0 && err instanceof Error && err.name === 'UnexpectedEOFError') break
          throw err
        }
        if (request.length !== BLOB_REQUEST_BYTES)
          throw new StreamProtocolError(this.protocol, `a request is ${BLOB_REQUEST_BYTES} bytes, got ${request.length}`)
        const hash = bytesToHex(request.subarray(0, 32))
        const offset = readUint64(request, 32)
        const length = readUint32(request, 40)
        if (length === 0 || length > BLOB_WINDOW_BYTES) throw new InvalidArgumentError('length', `expected 1 to ${BLOB_WINDOW_BYTES} bytes`)
        const info = await this.store.stat(hash)
        if (info === undefined) throw new BlobNotFoundError(hash)
        if (offset > BigInt(info.size)) throw new InvalidArgumentError('offset', `beyond the blob's ${info.size} bytes`)
        const header = new Uint8Array(BLOB_HEADER_BYTES - 1)
        writeUint64(header, 0, info.size)
        signal = this.#stepSignal()
        await lp.write(okFrame(header), { signal })
        let remaining = Math.min(length, info.size - Number(offset))
        if (remaining > 0) {
          for await (const chunk of this.store.read(hash, Number(offset), Math.min(this.#chunkBytes, remaining))) {
            const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk
            signal = this.#stepSignal()
            await lp.write(part, { signal })
            remaining -= part.length
            if (remaining === 0) break
          }
        }
        served++
        this.#log.debug({ peer, hash, offset: Number(offset), length, size: info.size }, 'served window')
        signal = this.#stepSignal()
      }
      await stream.close({ signal: this.#stepSignal() })
    } catch (err) {
      const error = toStreamError(this.protocol, err, { maxFrameBytes: BLOB_REQUEST_BYTES, timeoutMs: this.#frameTimeoutMs, signal })
      this.#log.info({ peer, code: error.code, err: error.message }, 'blob stream refused')
      await rejectStream(stream, error)
    } finally {
      this.#limiter.release(peer)
    }
  }

  /**
   * Fetches `hash` from `peer` into the store, resuming a partial blob when there is one. The
   * blob is kept only when its sha256 matches. Already held: returns at once.
   */
  async fetch(peer: DialTarget, hash: Hex, options: FetchBlobOptions = {}): Promise<FetchBlobReturnType> {
    const key = checkHash(hash)
    const held = await this.store.stat(key)
    if (held !== undefined) return { size: held.size, resumedFrom: held.size, transferred: 0 }
    const resumedFrom = await this.store.partialSize(key)
    // Accept any conforming server's frames, whatever chunk size this side serves with.
    const maxFrame = Math.max(BLOB_CHUNK_BYTES, BLOB_HEADER_BYTES, MAX_ERROR_FRAME_BYTES)
    let signal = this.#stepSignal(options.signal)
    const stream = await this.#components.libp2p.dialProtocol(peer, this.protocol, { signal })
    let transferred = 0
    try {
      // At most one window (and its header) is ever unread.
      const lp = framed(stream, maxFrame, BLOB_WINDOW_BYTES + 2 * maxFrame)
      let at = resumedFrom
      let size: number | undefined
      while (size === undefined || at < size) {
        const request = new Uint8Array(BLOB_REQUEST_BYTES)
        request.set(hexToBytes(key), 0)
        writeUint64(request, 32, at)
        writeUint32(request, 40, BLOB_WINDOW_BYTES)
        signal = this.#stepSignal(options.signal)
        await lp.write(request, { signal })
        const header = parseResponse(this.protocol, (await lp.read({ signal })).subarray())
        if (header.length !== BLOB_HEADER_BYTES - 1)
          throw new StreamProtocolError(this.protocol, `a header is ${BLOB_HEADER_BYTES} bytes`)
        const total = readUint64(header, 0)
        if (total > BigInt(this.#maxBlobBytes)) throw new MessageTooLargeError('blob', Number(total), this.#maxBlobBytes)
        if (size !== undefined && Number(total) !== size) throw new StreamProtocolError(this.protocol, 'the blob size changed mid-transfer')
        size = Number(total)
        if (at > size) {
          await this.store.deletePartial(key)
          throw new StreamProtocolError(this.protocol, `peer holds ${size} bytes, fewer than the ${at} already received`)
        }
        const windowEnd = Math.min(size, at + BLOB_WINDOW_BYTES)
        while (at < windowEnd) {
          signal = this.#stepSignal(options.signal)
          const frame = (await lp.read({ signal })).subarray()
          if (frame.length === 0 || at + frame.length > windowEnd)
            throw new StreamProtocolError(this.protocol, `unexpected data frame of ${frame.length} bytes at offset ${at} of ${size}`)
          await this.store.appendPartial(key, at, frame)
          at += frame.length
          transferred += frame.length
          options.onProgress?.(at, size)
        }
      }
      await stream.close({ signal: this.#stepSignal(options.signal) })
      await this.store.commitPartial(key)
      this.#log.debug({ hash: key, size, resumedFrom }, 'fetched blob')
      return { size, resumedFrom, transferred }
    } catch (err) {
      const error = toStreamError(this.protocol, err, { maxFrameBytes: maxFrame, timeoutMs: this.#frameTimeoutMs, signal })
      if (stream.status === 'open' || stream.status === 'closing') stream.abort(error)
      // An abort asked by the caller stays an abort, so callers can tell it from a failure.
      if (options.signal?.aborted === true && !(err instanceof BaseError)) throw options.signal.reason
      throw error
    }
  }
}
