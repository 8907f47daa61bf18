// The libp2p transport key: a software Ed25519 key kept in the node's data directory, created on
// first start. It is not the device's hardware key; the DeviceCertificate binds the two.
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { TRANSPORT_KEY_FILE } from '../constants.js'
import { TransportKeyError } from '../errors.js'

export interface LoadTransportKeyParameters {
  /** The node's data directory. */
  dir: string
}

/** Reads the transport key from `dir`; undefined when there is none (nothing is created). */
export async function readTransportKey({ dir }: LoadTransportKeyParameters): Promise<PrivateKey | undefined> {
  const file = join(dir, TRANSPORT_KEY_FILE)
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new TransportKeyError(file, 'cannot be read', { cause: err })
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new TransportKeyError(file, 'does not hold a libp2p private key', { cause: err })
  }
}

/** Reads the transport key from `dir`, creating it (mode 0600, written atomically) if absent. */
export async function loadTransportKey({ dir }: LoadTransportKeyParameters): Promise<PrivateKey> {
  const existing = await readTransportKey({ dir })
  if (existing !== undefined) return existing
  const file = join(dir, TRANSPORT_KEY_FILE)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const key = await generateKeyPair('Ed25519')
  const temporary = `${file}.${process.pid}.tmp`
  const handle = await open(temporary, 'wx', 0o600)
  try {
    await handle.writeFile(privateKeyToProtobuf(key))
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, file)
  return key
}
