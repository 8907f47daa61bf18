// The owner's local record of the devices it enrolled: an append-only JSON-lines journal in the
// state directory. A line is appended (and synced) before each step that the next step relies
// on: `certified` before the certificate is registered on chain, `enrolled` once the bundle is
// written, `revoked` after the revocation is confirmed. A run that stops anywhere is resumed by
// running it again: it reuses the journalled certificate and skips what is done. A crash can cut
// the last line short; that line is dropped when read (its step was not finished).
//
// One command at a time holds the state directory (a lock file with its pid).
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { getAddress, isHex, type Address, type Hex } from 'viem'
import { z } from 'zod'
import { addressSchema, bytes32Schema } from '../protocols/index.js'
import { JOURNAL_FILE, JOURNAL_VERSION, LOCK_FILE, MAX_JOURNAL_BYTES } from './constants.js'
import { JournalError, ProvisioningBusyError } from './errors.js'

const address = addressSchema.transform((a) => getAddress(a))
const hexSchema = z.custom<Hex>((v) => typeof v === 'string' && isHex(v, { strict: true }) && v.length > 2 && v.length <= 2 + 2 * 4096)
const time = z.number().int().min(0)

const entrySchema = z.discriminatedUnion('event', [
  z.strictObject({
    v: z.literal(JOURNAL_VERSION),
    event: z.literal('certified'),
    device: address,
    serial: z.string().max(256),
    peerId: z.string().max(256),
    /** The wire-encoded certificate, 0x-hex (hardware/bundle certificateHex). */
    certificate: hexSchema,
    certificateHash: bytes32Schema,
    /** Where the bundle is to be written. */
    bundle: z.string().min(1).max(4096),
    previous: address.nullable(),
    at: time,
  }),
  z.strictObject({ v: z.literal(JOURNAL_VERSION), event: z.literal('enrolled'), device: address, bundle: z.string().min(1).max(4096), at: time }),
  z.strictObject({ v: z.literal(JOURNAL_VERSION), event: z.literal('revoked'), device: address, replacedBy: address.nullable(), at: time }),
])

export type JournalEntry = z.input<typeof entrySchema>

export type DeviceState = 'certified' | 'enrolled' | 'revoked'

/** What the journal says about one device. */
export interface DeviceRecord {
  device: Address
  serial: string
  peerId: string
  certificate: Hex
  certificateHash: Hex
  bundle: string
  /** The device this one replaced by a key rotation. */
  previous: Address | null
  /** The device that replaced this one. */
  replacedBy: Address | null
  state: DeviceState
  certifiedAt: number
  enrolledAt: number | null
  revokedAt: number | null
}

/** Folds journal entries into one record per device, in first-certified order. */
export function foldJournal(entries: readonly JournalEntry[]): Map<Address, DeviceRecord> {
  const records = new Map<Address, DeviceRecord>()
  for (const raw of entries) {
    const e = entrySchema.parse(raw)
    const known = records.get(e.device)
    if (e.event === 'certified') {
      records.set(e.device, {
        device: e.device,
        serial: e.serial,
        peerId: e.peerId,
        certificate: e.certificate,
        certificateHash: e.certificateHash,
        bundle: e.bundle,
        previous: e.previous,
        replacedBy: known?.replacedBy ?? null,
        state: known?.state === 'revoked' ? 'revoked' : 'certified',
        certifiedAt: e.at,
        enrolledAt: null,
        revokedAt: known?.revokedAt ?? null,
      })
    } else if (known !== undefined && e.event === 'enrolled') {
      if (known.state !== 'revoked') known.state = 'enrolled'
      known.bundle = e.bundle
      known.enrolledAt = e.at
    } else if (e.event === 'revoked') {
      if (known === undefined) continue // revoked here, enrolled elsewhere: the chain lists it
      known.state = 'revoked'
      known.revokedAt = e.at
      known.replacedBy = e.replacedBy ?? known.replacedBy
    }
  }
  return records
}

/** Reads and validates a journal; a missing one is empty. */
export async function readJournal(stateDir: string): Promise<JournalEntry[]> {
  const file = join(stateDir, JOURNAL_FILE)
  let text: string
  try {
    const handle = await open(file, 'r')
    try {
      const { size } = await handle.stat()
      if (size > MAX_JOURNAL_BYTES) throw new JournalError(file, `larger than ${MAX_JOURNAL_BYTES} bytes`)
      text = await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const lines = text.split('\n')
  const complete = text.endsWith('\n') || text.length === 0
  const entries: JournalEntry[] = []
  for (const [i, line] of lines.entries()) {
    if (line.length === 0) continue
    const last = i === lines.length - 1
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch (cause) {
      if (last && !complete) break // cut short by a crash
      throw new JournalError(file, `line ${i + 1} is not JSON`, { cause, details: { line: i + 1 } })
    }
    const result = entrySchema.safeParse(parsed)
    if (!result.success) {
      if (last && !complete) break
      throw new JournalError(file, `line ${i + 1}: ${result.error.issues[0]?.message ?? 'malformed'}`, { details: { line: i + 1 } })
    }
    entries.push(parsed as JournalEntry)
  }
  return entries
}

/** The journal of a state directory, held by this process until `close()`. */
export class ProvisioningJournal {
  readonly file: string
  readonly #lock: string
  #records: Map<Address, DeviceRecord>
  #entries: JournalEntry[]
  #closed = false

  private constructor(stateDir: string, entries: JournalEntry[]) {
    this.file = join(stateDir, JOURNAL_FILE)
    this.#lock = join(stateDir, LOCK_FILE)
    this.#entries = entries
    this.#records = foldJournal(entries)
  }

  /** Takes the state directory's lock (creating the directory), then reads the journal. */
  static async open(stateDir: string): Promise<ProvisioningJournal> {
    await mkdir(stateDir, { recursive: true, mode: 0o700 })
    await takeLock(join(stateDir, LOCK_FILE))
    try {
      const journal = new ProvisioningJournal(stateDir, await readJournal(stateDir))
      // A line cut short by a crash is dropped from the file too, so that appends start on a new line.
      await journal.#rewriteIfTorn()
      return journal
    } catch (err) {
      await rm(join(stateDir, LOCK_FILE), { force: true })
      throw err
    }
  }

  get(device: Address): DeviceRecord | undefined {
    const r = this.#records.get(getAddress(device))
    return r === undefined ? undefined : { ...r }
  }

  records(): DeviceRecord[] {
    return [...this.#records.values()].map((r) => ({ ...r }))
  }

  /** Appends entries as one write, synced, then folds them in. */
  async append(entries: readonly JournalEntry[]): Promise<void> {
    if (this.#closed) throw new JournalError(this.file, 'the journal is closed')
    if (entries.length === 0) return
    const lines = entries.map((e) => `${JSON.stringify(entrySchema.parse(e))}\n`).join('')
    const handle = await open(this.file, 'a', 0o600)
    try {
      await handle.writeFile(lines)
      await handle.sync()
    } finally {
      await handle.close()
    }
    this.#entries.push(...entries)
    this.#records = foldJournal(this.#entries)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await rm(this.#lock, { force: true })
  }

  async #rewriteIfTorn(): Promise<void> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    if (text.length === 0 || text.endsWith('\n')) return
    const kept = text.slice(0, text.lastIndexOf('\n') + 1)
    const temporary = `${this.file}.${process.pid}.tmp`
    const handle = await open(temporary, 'w', 0o600)
    try {
      await handle.writeFile(kept)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, this.file)
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function takeLock(lock: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    let handle: FileHandle
    try {
      handle = await open(lock, 'wx', 0o600)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10)
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new ProvisioningBusyError(lock, pid)
      // Left behind by a process that is gone.
      await rm(lock, { force: true })
      continue
    }
    try {
      await handle.writeFile(`${process.pid}\n`)
    } finally {
      await handle.close()
    }
    return
  }
  throw new ProvisioningBusyError(lock, 0)
}
