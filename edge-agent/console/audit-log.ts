// The console's audit log: one JSON line per session event and command (who, when, what, result),
// appended to `<dataDir>/console-audit.jsonl`. Appends are serialised so lines never interleave.
import { appendFile, readFile } from 'node:fs/promises'

export interface AuditEntry {
  /** Unix ms. */
  time: number
  /** The technician's address, or null before login. */
  who: string | null
  what: string
  result: string
}

export class AuditLog {
  readonly #file: string
  #writing: Promise<void> = Promise.resolve()

  constructor(file: string) {
    this.#file = file
  }

  append(entry: AuditEntry): Promise<void> {
    this.#writing = this.#writing.then(() => appendFile(this.#file, `${JSON.stringify(entry)}\n`, { mode: 0o600 }))
    return this.#writing
  }

  /** The last `count` entries; a damaged line is skipped. */
  async tail(count: number): Promise<AuditEntry[]> {
    await this.#writing
    let text: string
    try {
      text = await readFile(this.#file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    const entries: AuditEntry[] = []
    for (const line of text.split('\n').slice(-count - 1)) {
      if (line === '') continue
      try {
        entries.push(JSON.parse(line) as AuditEntry)
      } catch {
        // a torn last line after a power cut is not an entry
      }
    }
    return entries.slice(-count)
  }
}
