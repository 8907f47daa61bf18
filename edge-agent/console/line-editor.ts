// Turns raw terminal bytes into edited lines, the way picocom, screen and minicom send them:
// printable ASCII is echoed, Backspace/DEL erase, Ctrl-U clears the line, Ctrl-C cancels, Tab
// completes, ESC [ A / ESC [ B walk the history, CR or LF ends a line. Anything else (binary
// noise, other escape sequences) is dropped. A line over MAX_LINE_BYTES is refused when it ends.
import { HISTORY_LINES, MAX_LINE_BYTES } from './constants.js'

export type LineEvent = { kind: 'line'; text: string } | { kind: 'overlong' } | { kind: 'cancel' }

export interface LineEditorParameters {
  echo: (text: string) => void
  complete: (prefix: string) => string[]
  maxLineBytes?: number
}

export class LineEditor {
  readonly #params: LineEditorParameters
  readonly #max: number
  #line = ''
  #overlong = false
  #escape: 0 | 1 | 2 = 0
  #lastCr = false
  readonly #history: string[] = []
  #historyAt = 0

  constructor(params: LineEditorParameters) {
    this.#params = params
    this.#max = params.maxLineBytes ?? MAX_LINE_BYTES
  }

  get line(): string {
    return this.#line
  }

  /** Feeds bytes; returns the events they complete. */
  feed(chunk: Uint8Array): LineEvent[] {
    const events: LineEvent[] = []
    for (const byte of chunk) {
      const wasCr = this.#lastCr
      this.#lastCr = byte === 0x0d
      if (this.#escape === 1) {
        this.#escape = byte === 0x5b ? 2 : 0
        continue
      }
      if (this.#escape === 2) {
        if (byte >= 0x40 && byte <= 0x7e) {
          this.#escape = 0
          if (byte === 0x41) this.#walk(-1)
          else if (byte === 0x42) this.#walk(1)
        }
        continue
      }
      if (byte === 0x1b) this.#escape = 1
      else if (byte === 0x0d || byte === 0x0a) {
        if (byte === 0x0a && wasCr) continue
        this.#params.echo('\r\n')
        events.push(this.#end())
      } else if (byte === 0x03) {
        this.#line = ''
        this.#overlong = false
        this.#params.echo('^C\r\n')
        events.push({ kind: 'cancel' })
      } else if (byte === 0x7f || byte === 0x08) {
        if (this.#line.length > 0 && !this.#overlong) {
          this.#line = this.#line.slice(0, -1)
          this.#params.echo('\b \b')
        }
      } else if (byte === 0x15) this.#replace('')
      else if (byte === 0x09) this.#tab()
      else if (byte >= 0x20 && byte <= 0x7e) {
        if (this.#line.length >= this.#max) this.#overlong = true
        else {
          this.#line += String.fromCharCode(byte)
          this.#params.echo(String.fromCharCode(byte))
        }
      }
      // every other byte is noise and dropped
    }
    return events
  }

  #end(): LineEvent {
    const text = this.#line
    const overlong = this.#overlong
    this.#line = ''
    this.#overlong = false
    if (overlong) return { kind: 'overlong' }
    const trimmed = text.trim()
    if (trimmed !== '' && this.#history.at(-1) !== trimmed) {
      this.#history.push(trimmed)
      if (this.#history.length > HISTORY_LINES) this.#history.shift()
    }
    this.#historyAt = this.#history.length
    return { kind: 'line', text: trimmed }
  }

  #replace(text: string): void {
    this.#params.echo('\b \b'.repeat(this.#line.length) + text)
    this.#line = text
    this.#overlong = false
  }

  #walk(step: number): void {
    const at = Math.min(this.#history.length, Math.max(0, this.#historyAt + step))
    this.#historyAt = at
    this.#replace(this.#history[at] ?? '')
  }

  #tab(): void {
    if (this.#line.includes(' ')) return
    const matches = this.#params.complete(this.#line)
    if (matches.length === 1) this.#replace(`${matches[0] as string} `)
    else if (matches.length > 1) this.#params.echo(`\r\n${matches.join('  ')}\r\n`)
  }
}
