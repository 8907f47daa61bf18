// An HTTP forwarder on 127.0.0.1 between the client and the node, to cut the RPC endpoint off and
// bring it back on the same port: the node (and its chain state) lives on, the client sees an
// outage. `onRequest` sees each JSON-RPC body first and may take the endpoint down around it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { freePort } from './hardhat-node.js'

export interface RpcProxy {
  readonly url: string
  /** Stops answering: open connections are destroyed, new ones refused. */
  down(): Promise<void>
  up(): Promise<void>
  readonly isUp: boolean
  /** JSON-RPC methods seen, in order. */
  readonly methods: string[]
  /** Called with each request's method before it is forwarded; 'drop' answers nothing and takes the endpoint down. */
  onRequest: ((method: string) => 'forward' | 'forward-then-down' | 'drop') | undefined
  close(): Promise<void>
}

export async function startRpcProxy(target: string): Promise<RpcProxy> {
  const port = await freePort()
  let server: Server | undefined
  const sockets = new Set<Socket>()
  const methods: string[] = []

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString()
    let method = 'batch'
    try {
      const parsed = JSON.parse(body) as { method?: string }
      method = parsed.method ?? 'batch'
    } catch {
      /* forwarded as is; the node answers the parse error */
    }
    methods.push(method)
    const action = proxy.onRequest?.(method) ?? 'forward'
    if (action === 'drop') {
      void proxy.down()
      return
    }
    const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const text = await upstream.text()
    if (action === 'forward-then-down') {
      // The node took the request; its answer is lost with the connection.
      void proxy.down()
      return
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json' })
    res.end(text)
  }

  const up = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((req, res) => {
        handle(req, res).catch(() => res.destroy())
      })
      s.on('connection', (socket) => {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
      })
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        server = s
        resolve()
      })
    })

  const down = async () => {
    const s = server
    server = undefined
    if (s === undefined) return
    const closed = new Promise((resolve) => s.close(resolve))
    for (const socket of sockets) socket.destroy()
    await closed
  }

  const proxy: RpcProxy = {
    url: `http://127.0.0.1:${port}`,
    down,
    up,
    get isUp() {
      return server !== undefined
    },
    methods,
    onRequest: undefined,
    close: down,
  }
  await up()
  return proxy
}
