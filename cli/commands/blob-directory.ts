// A directory of blobs named by their sha256 (0x-prefixed lowercase hex, optionally with a .bin
// extension, or bare hex): what a gateway publishes, and what `cw audit` and `cw rewards` read.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hex } from 'viem'

export const HASH = /^0x[0-9a-fA-F]{64}$/

/** The blob named `hash` in `dir`, as stored (callers check its hash); undefined when there is none. */
export async function readBlob(dir: string, hash: Hex): Promise<Uint8Array | undefined> {
  if (!HASH.test(hash)) return undefined
  const lower = hash.toLowerCase()
  for (const name of [lower, `${lower}.bin`, lower.slice(2)]) {
    try {
      return await readFile(join(dir, name))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
  }
  return undefined
}
