// Glue between the outbox and the mesh: delivers a submission to the first gateway that answers.
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { MeshNode } from '../../protocols/mesh/index.js'
import type { OutboxSend } from './outbox.js'

export interface MeshSenderParameters {
  node: Pick<MeshNode, 'submitUpdate'>
  /** Gateways to try, in order. */
  gateways: readonly (PeerId | Multiaddr)[]
}

export function meshSender({ node, gateways }: MeshSenderParameters): OutboxSend {
  const targets = [...gateways]
  return async (submission, { signal }) => {
    let lastError: unknown = new Error('no gateway configured')
    for (const gateway of targets) {
      signal.throwIfAborted()
      try {
        return await node.submitUpdate(gateway, submission, { signal })
      } catch (err) {
        lastError = err
      }
    }
    throw lastError
  }
}
