// Reading /proc, /sys, /dev and /etc under a root path, so that detection runs the same on the
// real `/` and on a fixture tree. Detection is best effort: a file that is missing, unreadable or
// odd reads as absent, never as an error. Reads are capped (constants.ts).
import { open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { DETECT_FILE_MAX_BYTES, DETECT_MAX_DIRECTORY_ENTRIES } from '../constants.js'

/** Paths are absolute-looking (`/proc/cpuinfo`) and resolved under `root`. */
export interface RootReader {
  readonly root: string
  /** The text of a file, at most DETECT_FILE_MAX_BYTES of it; undefined when it cannot be read. */
  text(path: string): Promise<string | undefined>
  /** Whether something (a file, a device node, a directory) exists at `path`. */
  exists(path: string): Promise<boolean>
  /** The names in a directory, at most DETECT_MAX_DIRECTORY_ENTRIES of them, sorted; [] when it cannot be read. */
  list(path: string): Promise<string[]>
}

export function rootReader(root: string, signal?: AbortSignal): RootReader {
  const resolve = (path: string) => join(root, path)
  return {
    root,
    async text(path) {
      signal?.throwIfAborted()
      let handle
      try {
        handle = await open(resolve(path), 'r')
      } catch {
        return undefined
      }
      try {
        // /proc files report a size of 0, so read until end of file or the cap.
        const chunks: Buffer[] = []
        let total = 0
        while (total < DETECT_FILE_MAX_BYTES) {
          const buffer = Buffer.alloc(Math.min(64 * 1024, DETECT_FILE_MAX_BYTES - total))
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, null)
          if (bytesRead === 0) break
          chunks.push(buffer.subarray(0, bytesRead))
          total += bytesRead
        }
        return Buffer.concat(chunks).toString('utf8')
      } catch {
        return undefined // EISDIR, EIO from a driver file, …: absent, as far as detection goes.
      } finally {
        await handle.close()
      }
    },
    async exists(path) {
      signal?.throwIfAborted()
      try {
        await stat(resolve(path))
        return true
      } catch {
        return false
      }
    },
    async list(path) {
      signal?.throwIfAborted()
      try {
        const names = await readdir(resolve(path))
        return names.sort().slice(0, DETECT_MAX_DIRECTORY_ENTRIES)
      } catch {
        return []
      }
    },
  }
}

/** A device-tree string property: NUL-terminated, and a list of them for `compatible`. */
export const deviceTreeStrings = (value: string | undefined): string[] =>
  value === undefined ? [] : value.split('\0').map((s) => s.trim()).filter((s) => s.length > 0)
