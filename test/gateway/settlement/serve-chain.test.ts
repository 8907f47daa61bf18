// The embedded EVM served over HTTP: a second client reaches the same chain through a plain
// JSON-RPC URL (deploys, reads, and reverts decoded into typed errors), and bad HTTP input gets
// JSON-RPC errors while the server keeps serving.
import t from 'tap'
import { keccak256, toHex } from 'viem'
import { createMemorySigner } from '../../../protocols/index.js'
import { connectChain, deployFleet, serveChain, settleRound, signerToAccount, startEmbeddedChain, CHAIN_RPC_MAX_BODY_BYTES, MemorySettlementJournal } from '../../../gateway/settlement/index.js'
import { quietLogger } from './helpers/backends.js'

const owner = signerToAccount({ signer: createMemorySigner() })
const stranger = signerToAccount({ signer: createMemorySigner() })
const chain = await startEmbeddedChain({ fund: [owner.address, stranger.address] })
const served = await serveChain({ chain })
t.teardown(async () => {
  await served.close()
  await chain.close()
})

const post = async (body: string): Promise<{ status: number; json: unknown }> => {
  const res = await fetch(served.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  return { status: res.status, json: await res.json() }
}

t.test('a client on the URL deploys and reads the same chain', async (t) => {
  t.match(served.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  const connection = await connectChain({ config: { rpcUrl: served.url, chainId: 31337, pollIntervalMs: 20 }, logger: quietLogger() })
  t.teardown(() => connection.close())
  const fleet = keccak256(toHex('served fleet'))
  const contracts = await deployFleet(connection, { owner, fleet, gateways: [owner.address] })
  const code = await chain.request('eth_getCode', [contracts.ledger, 'latest'])
  t.ok(typeof code === 'string' && code.length > 2, 'the embedded chain holds what the HTTP client deployed')
  // A revert travels back with its data, and is decoded into its typed error.
  const settlement = {
    fleet,
    round: 1n,
    parentModel: keccak256(toHex('parent')),
    newModel: keccak256(toHex('new')),
    contributionsRoot: keccak256(toHex('root')),
    rewardTotal: 10n,
    recordHash: keccak256(toHex('record')),
  }
  await t.rejects(settleRound(connection, { gateway: stranger, ledger: contracts.ledger, settlement, journal: new MemorySettlementJournal() }), { code: 'CW_CHAIN_NOT_GATEWAY' })
})

t.test('bad HTTP input gets JSON-RPC errors and the server keeps serving', async (t) => {
  const get = await fetch(served.url)
  t.equal(get.status, 405)
  t.match(await post('{not json'), { status: 400, json: { error: { code: -32700 } } })
  t.match(await post('[]'), { status: 400, json: { error: { code: -32600 } } })
  t.match(await post(JSON.stringify(Array.from({ length: 101 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'eth_chainId' })))), { status: 400 })
  t.match(await post(JSON.stringify({ jsonrpc: '2.0', id: 1 })), { status: 200, json: { id: 1, error: { code: -32600 } } })
  t.match(await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_chainId', params: 'x' })), { json: { id: 2, error: { code: -32602 } } })
  t.match(await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'no_suchMethod', params: [] })), { status: 200, json: { id: 3, error: {} } })
  const big = await fetch(served.url, { method: 'POST', body: 'x'.repeat(CHAIN_RPC_MAX_BODY_BYTES + 1) }).catch((err: unknown) => err)
  if (big instanceof Response) t.equal(big.status, 413)
  else t.ok(big instanceof Error, 'an oversized body is cut off')
  t.match(await post(JSON.stringify([{ jsonrpc: '2.0', id: 4, method: 'eth_chainId', params: [] }])), { status: 200, json: [{ id: 4, result: '0x7a69' }] })
})
