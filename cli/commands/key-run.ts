// `cw key …`: the work, loaded only when a key command runs.
import { openExistingKeyStore, readKeyStoreConfig } from '../../provisioning/key-stores.js'
import { toJson } from '../output.js'
import type { KeyOptions } from './key.js'

export async function runKey(command: 'generate' | 'address', options: KeyOptions): Promise<void> {
  const config = await readKeyStoreConfig(options.keyStore)
  const store = await openExistingKeyStore({ config, env: process.env, create: command === 'generate' })
  try {
    const address = command === 'generate' ? (await store.generate(options.label)).address : (await store.open(options.label)).address
    if (options.json === true) console.log(toJson({ label: options.label, address, kind: store.kind }))
    else console.log(command === 'generate' ? `generated ${options.label}: ${address}` : address)
  } finally {
    await store.close()
  }
}
