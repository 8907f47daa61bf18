// `cw chain serve`: the embedded EVM as a JSON-RPC endpoint on 127.0.0.1, for trying a fleet on
// one machine without installing a node. A real deployment points fleet.json at a real node.
// This is the implementation, loaded when the command runs; cli/commands/chain.ts defines its options.
import type { Address } from 'viem'
import { serveChain, startEmbeddedChain } from '../../gateway/settlement/index.js'
import { address, integer } from '../arguments.js'
import { toJson } from '../output.js'

export interface ServeOptions {
  host: string
  port: string
  chainId?: string
  stateFile?: string
  fund: string[]
  json?: boolean
}

export async function chainServeCommand(options: ServeOptions): Promise<void> {
  const fund: Address[] = options.fund.map((a) => address('--fund', a))
  const embedded = await startEmbeddedChain({
    fund,
    ...(options.chainId === undefined ? {} : { chainId: integer('--chain-id', options.chainId, 1, Number.MAX_SAFE_INTEGER) }),
    ...(options.stateFile === undefined ? {} : { stateFile: options.stateFile }),
  })
  const served = await serveChain({ chain: embedded, host: options.host, port: integer('--port', options.port, 0, 65535) })
  console.log(options.json === true ? toJson({ url: served.url, chainId: embedded.chain.id }) : `JSON-RPC on ${served.url} (chain ${embedded.chain.id}); Ctrl-C stops it`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await served.close()
  await embedded.close()
}
