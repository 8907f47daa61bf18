// Splits a serial byte stream into text lines, bounded: a line longer than the cap is dropped
// (and counted) without ever buffering more than the cap, and a line holding a byte that is not
// printable ASCII is dropped as garbage. @serialport/parser-readline has no length cap, so
// garbage without a newline would grow its buffer without bound; hence this small framer.

const LF = 0x0a
const CR = 0x0d
const TAB = 0x09

export type FramingProblem = 'overlong' | 'garbage'

export interface LineFramerHandlers {
  readonly onLine: (line: string) => void
  readonly onReject: (problem: FramingProblem) => void
}

export class LineFramer {
  readonly maxLength: number
  readonly #pending: Buffer
  #length = 0
  #overlong = false
  #garbage = false
  readonly #handlers: LineFramerHandlers

  constructor(maxLength: number, handlers: LineFramerHandlers) {
    this.maxLength = maxLength
    this.#pending = Buffer.alloc(maxLength)
    this.#handlers = handlers
  }

  /** Bytes held of a line that has not ended yet. */
  get pending(): number {
    return this.#overlong ? this.maxLength : this.#length
  }

  push(chunk: Uint8Array): void {
    let start = 0
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number
      if (byte === LF) {
        this.#finish(chunk, start, i)
        start = i + 1
      } else if (byte < 0x20 ? byte !== TAB && byte !== CR : byte > 0x7e) {
        this.#garbage = true
      }
    }
    if (start < chunk.length) this.#append(chunk, start, chunk.length)
  }

  /** Drops the unfinished line (a port that closed mid-line); true when there was one. */
  discard(): boolean {
    const had = this.#length > 0 || this.#overlong || this.#garbage
    this.#reset()
    return had
  }

  #finish(chunk: Uint8Array, start: number, end: number): void {
    if (this.#overlong || this.#length + (end - start) > this.maxLength) {
      this.#reset()
      this.#handlers.onReject('overlong')
      return
    }
    if (this.#garbage) {
      this.#reset()
      this.#handlers.onReject('garbage')
      return
    }
    let line: string
    if (this.#length === 0) {
      line = Buffer.from(chunk.buffer, chunk.byteOffset + start, end - start).toString('latin1')
    } else {
      this.#append(chunk, start, end)
      line = this.#pending.toString('latin1', 0, this.#length)
    }
    this.#reset()
    if (line.endsWith('\r')) line = line.slice(0, -1)
    this.#handlers.onLine(line)
  }

  #append(chunk: Uint8Array, start: number, end: number): void {
    if (this.#overlong) return
    const n = end - start
    if (this.#length + n > this.maxLength) {
      this.#overlong = true
      this.#length = 0
      return
    }
    this.#pending.set(chunk.subarray(start, end), this.#length)
    this.#length += n
  }

  #reset(): void {
    this.#length = 0
    this.#overlong = false
    this.#garbage = false
  }
}
