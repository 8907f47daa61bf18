// How the CLI prints: JSON for machines (`--json`), plain lines for people, typed errors as
// `error CODE: message` on stderr.
import { BaseError } from '../protocols/errors.js'

/** Exit codes; each means one thing (documented in README.md). */
export const EXIT = {
  ok: 0,
  /** The command ran and the input was refused (it does not decode, or a signature is wrong). */
  rejected: 1,
  /** Bad arguments or options. */
  usage: 2,
  /** A file could not be read or written. */
  io: 3,
  /** A bulk run finished with some items done and others refused (each reported). */
  partial: 4,
  /** A failure no folder typed (`CW_UNEXPECTED`): a bug to report, with `--verbose` output. */
  unexpected: 5,
  /** `cw audit round`: the round is not settled on chain (yet); nothing found tampered. */
  unsettled: 6,
} as const

/** JSON with bigints as decimal strings and bytes as 0x-hex. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString()
      if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`
      return v
    },
    2,
  )
}

export function printError(err: unknown): void {
  if (err instanceof BaseError) console.error(`error ${err.code}: ${err.message}`)
  else console.error(`error: ${err instanceof Error ? err.message : String(err)}`)
}
