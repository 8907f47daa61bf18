import t from 'tap'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadTransportKey } from '../../../hardware/keys/transport-key.js'
import { TRANSPORT_KEY_FILE } from '../../../hardware/constants.js'

const dir = await mkdtemp(join(tmpdir(), 'cw-transport-key-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

t.test('created once, private, and the same peer id after a restart', async (t) => {
  const nodeDir = join(dir, 'node')
  const first = await loadTransportKey({ dir: nodeDir })
  const second = await loadTransportKey({ dir: nodeDir })
  t.equal(peerIdFromPrivateKey(second).toString(), peerIdFromPrivateKey(first).toString())
  t.equal((await stat(join(nodeDir, TRANSPORT_KEY_FILE))).mode & 0o777, 0o600, 'mode 0600')
})

t.test('a file that holds no key is refused with CW_TRANSPORT_KEY', async (t) => {
  const nodeDir = join(dir, 'bad')
  await loadTransportKey({ dir: nodeDir })
  await writeFile(join(nodeDir, TRANSPORT_KEY_FILE), 'not a key')
  await t.rejects(loadTransportKey({ dir: nodeDir }), { code: 'CW_TRANSPORT_KEY' })
})
