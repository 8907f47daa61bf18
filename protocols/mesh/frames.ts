// Framing shared by the mesh's stream protocols. Every frame is length-prefixed (unsigned varint,
// as libp2p's own protocols do, via @libp2p/utils' lpStream). A response frame starts with a tag
// byte: RESPONSE_OK followed by the payload, or RESPONSE_ERROR followed by UTF-8 JSON
// `{ code, message, retryAfterMs? }` naming what was wrong (and, for CW_MESH_BUSY, when to retry).
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { z } from 'zod'
import { BaseError, FrameTooLargeError, RemoteError, StreamProtocolError, StreamTimeoutError } from '../errors.js'
import { ERROR_FLUSH_TIMEOUT_MS, MAX_ERROR_FRAME_BYTES, MAX_RETRY_AFTER_MS } from './constants.js'

export const RESPONSE_OK = 0
export const RESPONSE_ERROR = 1

/** Room for a varint length prefix (≤ 5 bytes for 32-bit lengths) and a frame's tag. */
const FRAME_OVERHEAD = 16

/**
 * Opens length-prefixed framing on a stream; frames over `maxFrameBytes` are refused unread.
 * Unread bytes beyond `maxBufferedBytes` (default: one frame) reset the stream.
 */
export function framed(stream: Stream, maxFrameBytes: number, maxBufferedBytes = maxFrameBytes): LengthPrefixedStream<Stream> {
  return lpStream(stream, {
    maxDataLength: maxFrameBytes,
    maxBufferSize: maxBufferedBytes + FRAME_OVERHEAD,
    maxLengthLength: MAX_LENGTH_PREFIX_BYTES,
    lengthDecoder: decodeLengthPrefix,
  })
}

export function writeUint32(target: Uint8Array, at: number, value: number): void {
  new DataView(target.buffer, target.byteOffset, target.byteLength).setUint32(at, value)
}

export function readUint32(source: Uint8Array, at: number): number {
  return new DataView(source.buffer, source.byteOffset, source.byteLength).getUint32(at)
}

export function okFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(1 + payload.length)
  frame[0] = RESPONSE_OK
  frame.set(payload, 1)
  return frame
}

/**
 * An error frame carrying the error's stable code; the message is cut to fit the cap. An error
 * whose `details.retryAfterMs` is set (CW_MESH_BUSY) carries it too: the remote may retry then.
 */
export function errorFrame(err: BaseError): Uint8Array {
  const encoder = new TextEncoder()
  let message = err.message
  const retry = err.details.retryAfterMs
  const retryAfterMs = typeof retry === 'number' && Number.isInteger(retry) && retry >= 0 && retry <= MAX_RETRY_AFTER_MS ? { retryAfterMs: retry } : {}
  for (;;) {
    const body = encoder.encode(JSON.stringify({ code: err.code, message, ...retryAfterMs }))
    if (body.length + 1 <= MAX_ERROR_FRAME_BYTES) {
      const frame = new Uint8Array(1 + body.length)
      frame[0] = RESPONSE_ERROR
      frame.set(body, 1)
      return frame
    }
    message = message.slice(0, Math.floor(message.length / 2))
  }
}

const errorBodySchema = z.strictObject({
  code: z.string().regex(/^[A-Z0-9_]{1,64}$/),
  message: z.string().max(MAX_ERROR_FRAME_BYTES),
  retryAfterMs: z.number().int().min(0).max(MAX_RETRY_AFTER_MS).optional(),
})

/** The payload of an OK response; an error frame becomes a RemoteError naming the remote's code. */
export function parseResponse(protocol: string, frame: Uint8Array): Uint8Array {
  const tag = frame[0]
  if (tag === RESPONSE_OK) return frame.subarray(1)
  if (tag === RESPONSE_ERROR && frame.length <= MAX_ERROR_FRAME_BYTES) {
    let body: unknown
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame.subarray(1)))
    } catch (err) {
      throw new StreamProtocolError(protocol, 'error frame is not UTF-8 JSON', { cause: err })
    }
    const parsed = errorBodySchema.safeParse(body)
    if (!parsed.success) throw new StreamProtocolError(protocol, 'error frame does not match { code, message }')
    const { code, message, retryAfterMs } = parsed.data
    throw new RemoteError(protocol, code, message, retryAfterMs === undefined ? {} : { details: { retryAfterMs } })
  }
  throw new StreamProtocolError(protocol, `unknown response tag ${String(tag)}`)
}

/**
 * Turns whatever a stream read or write threw into a typed mesh error: a frame over its cap, a
 * time-out, or a broken stream. Typed errors pass through.
 */
export function toStreamError(protocol: string, err: unknown, context: { maxFrameBytes: number; timeoutMs: number; signal?: AbortSignal }): BaseError {
  if (err instanceof BaseError) return err
  const name = err instanceof Error ? err.name : ''
  // @libp2p/utils' lpStream (stream-utils.ts) names these; a stream buffer overflow is the same violation.
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'StreamBufferError')
    return new FrameTooLargeError(protocol, context.maxFrameBytes, { cause: err })
  if (context.signal?.aborted === true && (name === 'AbortError' || name === 'TimeoutError'))
    return new StreamTimeoutError(protocol, context.timeoutMs, { cause: err })
  if (name === 'TimeoutError') return new StreamTimeoutError(protocol, context.timeoutMs, { cause: err })
  return new StreamProtocolError(protocol, err instanceof Error ? err.message : 'stream failed', { cause: err })
}

/**
 * Answers a violator: writes the error frame, gives the remote a moment to read it and close its
 * side, then resets the stream. Closing first would race the remote's protocol negotiation, so
 * the remote closes first; one that does not within ERROR_FLUSH_TIMEOUT_MS is reset.
 * Never throws: the stream may already be gone.
 */
export async function rejectStream(stream: Stream, err: BaseError): Promise<void> {
  await answerStream(stream, errorFrame(err), err)
}

/**
 * Writes a last frame (an error, or a receipt given before the request was read whole), waits up
 * to ERROR_FLUSH_TIMEOUT_MS for the remote to close its side, then ends the stream, resetting it
 * if the remote is still sending. Never throws.
 */
export async function answerStream(stream: Stream, frame: Uint8Array, err: Error = new Error('answered')): Promise<void> {
  const signal = AbortSignal.timeout(ERROR_FLUSH_TIMEOUT_MS)
  try {
    await lpStream(stream).write(frame, { signal })
    if (stream.remoteWriteStatus === 'writable') await remoteClosed(stream, signal)
    await stream.close({ signal })
  } catch {
    // The frame is a courtesy; the reset below is what enforces the limit.
  } finally {
    if (stream.status === 'open' || stream.status === 'closing') stream.abort(err)
  }
}

/** Cuts a stream off at once: its error frame is queued (it goes out before the reset), then the stream is reset. */
export function evictStream(stream: Stream, err: BaseError): void {
  if (stream.status !== 'open') return
  try {
    // lpStream's write hands the frame to the muxer before its first await.
    lpStream(stream).write(errorFrame(err)).catch(() => undefined)
  } catch {
    // nothing more to do: the reset below ends it
  }
  stream.abort(err)
}

function remoteClosed(stream: Stream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.removeEventListener('remoteCloseWrite', done)
      stream.removeEventListener('close', done)
      signal.removeEventListener('abort', aborted)
      resolve()
    }
    const aborted = (): void => {
      stream.removeEventListener('remoteCloseWrite', done)
      stream.removeEventListener('close', done)
      reject(signal.reason)
    }
    stream.addEventListener('remoteCloseWrite', done)
    stream.addEventListener('close', done)
    signal.addEventListener('abort', aborted, { once: true })
  })
}

/** Longest varint length prefix: frames are capped well below 2^35 bytes. */
const MAX_LENGTH_PREFIX_BYTES = 5

/**
 * Unsigned varint (LEB128, as multiformats' unsigned-varint) length decoder that gives up after
 * MAX_LENGTH_PREFIX_BYTES: lpStream's own decoder keeps reading a prefix that never ends.
 * Throws RangeError while the prefix is incomplete, which lpStream takes as "read more".
 */
export function decodeLengthPrefix(data: Uint8ArrayList): number {
  let value = 0
  for (let i = 0; i < data.byteLength; i++) {
    if (i >= MAX_LENGTH_PREFIX_BYTES) {
      const err = new Error(`length prefix longer than ${MAX_LENGTH_PREFIX_BYTES} bytes`)
      err.name = 'InvalidDataLengthLengthError'
      throw err
    }
    const byte = data.get(i)
    value += (byte & 0x7f) * 2 ** (7 * i)
    if (byte < 0x80) return value
  }
  if (data.byteLength >= MAX_LENGTH_PREFIX_BYTES) {
    const err = new Error(`length prefix longer than ${MAX_LENGTH_PREFIX_BYTES} bytes`)
    err.name = 'InvalidDataLengthLengthError'
    throw err
  }
  throw new RangeError('incomplete length prefix')
}

/** uint64 big-endian, for offsets and sizes in fixed-size frames. */
export function writeUint64(target: Uint8Array, at: number, value: number): void {
  new DataView(target.buffer, target.byteOffset, target.byteLength).setBigUint64(at, BigInt(value))
}

export function readUint64(source: Uint8Array, at: number): bigint {
  return new DataView(source.buffer, source.byteOffset, source.byteLength).getBigUint64(at)
}
