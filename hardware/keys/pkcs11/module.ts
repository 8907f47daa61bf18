// Loading a PKCS#11 module through pkcs11js. A Cryptoki library is initialised once per process
// (PKCS#11 v2.40 §5.4: a second C_Initialize returns CKR_CRYPTOKI_ALREADY_INITIALIZED, and one
// C_Finalize ends it for every caller), so stores that use the same module share one loaded
// instance, counted, and the last to release it finalises it. An entry leaves the table on its
// last release, so the table holds only modules in use.
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import type * as pkcs11js from 'pkcs11js'
import { Pkcs11LoadError } from '../../errors.js'

export type Pkcs11Js = typeof pkcs11js
export type Pkcs11 = InstanceType<Pkcs11Js['PKCS11']>

export interface Pkcs11Module {
  readonly path: string
  readonly pkcs11: Pkcs11
  /** The pkcs11js namespace: the CK* constants. */
  readonly api: Pkcs11Js
  /** Drops this holder's use; the last one finalises the library and unloads it. */
  release(): void
}

interface Entry {
  pkcs11: Pkcs11
  holders: number
  /** False when someone else in the process had already initialised it: then it is theirs to finalise. */
  owned: boolean
}

const loaded = new Map<string, Entry>()

const require = createRequire(import.meta.url)

let loadedApi: Pkcs11Js | undefined

/** pkcs11js is a native addon, loaded on first use so that the file key store works without it. */
function loadApi(modulePath: string): Pkcs11Js {
  if (loadedApi !== undefined) return loadedApi
  try {
    loadedApi = require('pkcs11js') as Pkcs11Js
    return loadedApi
  } catch (cause) {
    throw new Pkcs11LoadError(modulePath, { cause, details: { problem: 'the pkcs11js native addon does not load' } })
  }
}

const rcNameOf = (error: unknown): string | undefined => {
  const message = (error as { message?: unknown } | null)?.message
  return typeof message === 'string' && /^CKR_\w+$/.test(message) ? message : undefined
}

export function acquirePkcs11Module(modulePath: string): Pkcs11Module {
  const path = resolve(modulePath)
  const api = loadApi(path)
  let entry = loaded.get(path)
  if (entry === undefined) {
    const pkcs11 = new api.PKCS11()
    try {
      pkcs11.load(path)
    } catch (cause) {
      throw new Pkcs11LoadError(path, { cause, details: { problem: 'the shared library does not load' } })
    }
    let owned = true
    try {
      // Signing runs on libuv worker threads (C_SignAsync), so the library must lock for itself.
      pkcs11.C_Initialize({ flags: api.CKF_OS_LOCKING_OK })
    } catch (cause) {
      if (rcNameOf(cause) === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') owned = false
      else {
        pkcs11.close()
        throw new Pkcs11LoadError(path, { cause, details: { problem: 'C_Initialize failed', rcName: rcNameOf(cause) } })
      }
    }
    entry = { pkcs11, holders: 0, owned }
    loaded.set(path, entry)
  }
  entry.holders += 1
  const held = entry
  let released = false
  return {
    path,
    pkcs11: held.pkcs11,
    api,
    release() {
      if (released) return
      released = true
      held.holders -= 1
      if (held.holders > 0) return
      loaded.delete(path)
      if (!held.owned) return
      try {
        held.pkcs11.C_Finalize()
      } finally {
        held.pkcs11.close()
      }
    },
  }
}
