// `cw key generate|address` and `cw chain fund`, as an operator runs them: the bin in its own
// process, from a directory outside the repository, against `hardhat node` and the embedded EVM
// served by `cw chain serve`'s serveChain, both on 127.0.0.1.
import t from 'tap'
import { createServer } from 'node:http'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseEther, type Address } from 'viem'
import { serveChain, startEmbeddedChain } from '../../gateway/settlement/index.js'
import { ENV, fileStore, startChain, tempDir } from '../provisioning/helpers.js'
import { runCw, type Run } from '../helpers/run-cw.js'

t.setTimeout(600_000)
const dir = await tempDir(t, 'cli-key-fund')

const cw = (...args: string[]): Promise<Run> => runCw(args, { cwd: dir, env: { ...process.env, ...ENV } })
const oneErrorLine = (t: Tap, r: Run, code: RegExp): void => {
  const lines = r.stderr.trim().split('\n')
  t.equal(lines.length, 1, `one line: ${r.stderr}`)
  t.match(lines[0], code)
}
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

await writeFile(join(dir, 'gateway-key.json'), JSON.stringify(fileStore('gateway-keys')))
let gatewayAddress: Address

t.test('cw key generate, then cw key address prints the same address; a taken or unknown label is refused', async (t) => {
  const made = await cw('key', 'generate', '--key-store', 'gateway-key.json', '--label', 'gateway', '--json')
  t.equal(made.code, 0, made.stderr)
  const generated = JSON.parse(made.stdout) as { label: string; address: Address; kind: string }
  t.match(generated, { label: 'gateway', address: /^0x[0-9a-fA-F]{40}$/, kind: 'file' })
  gatewayAddress = generated.address
  const [shown, again, unknown] = await Promise.all([
    cw('key', 'address', '--key-store', 'gateway-key.json', '--label', 'gateway'),
    cw('key', 'generate', '--key-store', 'gateway-key.json', '--label', 'gateway'),
    cw('key', 'address', '--key-store', 'gateway-key.json', '--label', 'nobody'),
  ])
  t.equal(shown.code, 0, shown.stderr)
  t.equal(shown.stdout.trim(), gatewayAddress, 'the address alone, for scripts')
  t.equal(again.code, 1)
  oneErrorLine(t, again, /^error CW_KEY_EXISTS: /)
  t.equal(unknown.code, 1)
  oneErrorLine(t, unknown, /^error CW_KEY_NOT_FOUND: /)
  const missing = await cw('key', 'address', '--key-store', 'nowhere.json', '--label', 'gateway')
  t.equal(missing.code, 1)
  oneErrorLine(t, missing, /^error CW_PROVISION_KEY_STORE_MISSING: .*nowhere\.json/)
})

t.test('cw chain fund on hardhat node and on the served embedded EVM adds to the balance', async (t) => {
  const node = await startChain(t, 'node')
  const embedded = await startEmbeddedChain({})
  t.teardown(() => embedded.close())
  const served = await serveChain({ chain: embedded })
  t.teardown(() => served.close())
  for (const [name, url] of [['hardhat node', node.rpcUrl ?? ''], ['embedded', served.url]] as const) {
    const first = await cw('chain', 'fund', gatewayAddress, '--rpc-url', url, '--amount', '2.5', '--json')
    t.equal(first.code, 0, `${name}: ${first.stderr}`)
    t.match(JSON.parse(first.stdout), { address: gatewayAddress, before: '0', balance: parseEther('2.5').toString() }, name)
    const second = await cw('chain', 'fund', gatewayAddress, '--rpc-url', url, '--amount', '1')
    t.equal(second.code, 0, second.stderr)
    t.match(second.stdout, /now holds 3\.5 ether \(was 2\.5\)/, `${name}: added, not set`)
  }
  const bad = await cw('chain', 'fund', gatewayAddress, '--rpc-url', served.url, '--amount', 'lots')
  t.equal(bad.code, 2)
  oneErrorLine(t, bad, /^error CW_USAGE: --amount expects a positive number of ether/)
})

t.test('cw chain fund refuses a chain that is not a development chain, and names an unreachable one', async (t) => {
  // A JSON-RPC endpoint that answers like a production node: balances yes, setBalance "method not found".
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const { id, method } = JSON.parse(body) as { id: number; method: string }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(method === 'eth_getBalance' ? { jsonrpc: '2.0', id, result: '0x0' } : { jsonrpc: '2.0', id, error: { code: -32601, message: `the method ${method} does not exist/is not available` } }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as { port: number }
  const refused = await cw('chain', 'fund', gatewayAddress, '--rpc-url', `http://127.0.0.1:${port}`)
  t.equal(refused.code, 1)
  oneErrorLine(t, refused, /^error CW_CHAIN_NOT_DEVELOPMENT: http:\/\/127\.0\.0\.1:\d+ is not a development chain/)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const down = await cw('chain', 'fund', gatewayAddress, '--rpc-url', `http://127.0.0.1:${port}`)
  t.equal(down.code, 1)
  oneErrorLine(t, down, /^error CW_CHAIN_UNAVAILABLE: /)
})
