// Writes a file so that readers see either nothing or the whole of it: write a temporary file in
// the same directory, fsync it, then move it into place and fsync the directory (the rename(2)
// and link(2) man pages; a crash between steps leaves at worst a dot-named temporary file).
import { randomUUID } from 'node:crypto'
import { link, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export interface WriteFileAtomicParameters {
  path: string
  data: string | Uint8Array
  /** Permission bits of the new file, applied before any data is written. */
  mode: number
  /**
   * Refuse to replace an existing file: the final step is link(2), which fails with EEXIST, rather
   * than rename(2), which replaces. The error keeps its `code` for the caller to map.
   */
  exclusive?: boolean
}

async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export async function writeFileAtomic(parameters: WriteFileAtomicParameters): Promise<void> {
  const { path, data, mode, exclusive = false } = parameters
  const directory = dirname(path)
  const temporary = join(directory, `.${basename(path)}.${randomUUID()}.tmp`)
  const handle = await open(temporary, 'wx', mode)
  try {
    try {
      // The umask may have narrowed `mode` but never widened it; set it exactly.
      await handle.chmod(mode)
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (exclusive) await link(temporary, path)
    else await rename(temporary, path)
  } finally {
    // After link(2) the temporary name is a second link to the same file; after rename(2) it is
    // already gone; after a failure it is the only trace. Remove it in every case.
    await rm(temporary, { force: true })
  }
  await fsyncDirectory(directory)
}
