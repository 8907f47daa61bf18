// RPC outages during settlement, against a separately started `hardhat node` behind a forwarder
// on 127.0.0.1 that the test takes down and brings back: the round ends settled exactly once.
// (The node itself keeps running: `hardhat node` keeps its chain in memory, so stopping its
// process would lose the chain; cutting the endpoint is the outage a gateway sees.) Also the
// chain id check and the configuration's bad cases.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address } from 'viem'
import { roundLedgerAbi } from '../../../protocols/contracts/index.js'
import { createMemorySigner } from '../../../protocols/index.js'
import { connectChain, deployFleet, FileSettlementJournal, settleRound, type ChainConnection } from '../../../gateway/settlement/index.js'
import { quietLogger, startBackend } from './helpers/backends.js'
import { startRpcProxy } from './helpers/rpc-proxy.js'
import { FLEET, settlementFor, treeFor } from './helpers/fixtures.js'

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  return { code: 'DID_NOT_REJECT' }
}

const backend = await startBackend('node')
t.teardown(() => backend.stop())
const { owner, gateway } = backend
const node = backend.node
if (node === undefined) throw new Error('no node')
const fleet = await deployFleet(backend.connection, { owner, fleet: FLEET, gateways: [gateway.address] })
// Blocks keep coming during the test, so that two confirmations arrive on their own.
await backend.connection.publicClient.request({ method: 'evm_setIntervalMining', params: [200] } as never) // test-only hardhat method that viem does not type
t.teardown(() => backend.connection.publicClient.request({ method: 'evm_setIntervalMining', params: [0] } as never).catch(() => undefined))

const proxy = await startRpcProxy(node.url)
t.teardown(() => proxy.close())
const viaProxy: ChainConnection = await connectChain({ config: { rpcUrl: proxy.url, chainId: 31337, confirmations: 2, pollIntervalMs: 50, rpcTimeoutMs: 1000 }, logger: quietLogger() })
const directory = await mkdtemp(join(tmpdir(), 'cw-outage-'))
t.teardown(() => rm(directory, { recursive: true, force: true }))

const devices = (): Address[] => Array.from({ length: 5 }, () => createMemorySigner().address)
const settledEvents = async (round: bigint) =>
  (await backend.connection.publicClient.getContractEvents({ address: fleet.ledger, abi: roundLedgerAbi, eventName: 'RoundSettled', args: { round }, fromBlock: 'earliest', toBlock: 'latest' })).length
const sends = () => proxy.methods.filter((m) => m === 'eth_sendRawTransaction').length

t.test('the endpoint goes down right after the node took the transaction', async (t) => {
  const round = 1n
  const before = sends()
  let first = true
  proxy.onRequest = (method) => {
    if (method !== 'eth_sendRawTransaction' || !first) return 'forward'
    first = false
    setTimeout(() => void proxy.up(), 1500)
    return 'forward-then-down'
  }
  const result = await settleRound(viaProxy, { gateway, ledger: fleet.ledger, settlement: settlementFor(round, treeFor(round, devices())), journal: new FileSettlementJournal(directory) })
  proxy.onRequest = undefined
  t.equal(result.status, 'settled')
  t.equal(await settledEvents(round), 1, 'settled exactly once')
  t.equal(sends() - before, 1, 'the transaction the node already had was not sent again')
  t.equal(await new FileSettlementJournal(directory).get(round), undefined)
})

t.test('the endpoint goes down before the transaction reached the node', async (t) => {
  const round = 2n
  const before = sends()
  let first = true
  proxy.onRequest = (method) => {
    if (method !== 'eth_sendRawTransaction' || !first) return 'forward'
    first = false
    setTimeout(() => void proxy.up(), 1500)
    return 'drop'
  }
  const journal = new FileSettlementJournal(directory)
  const result = await settleRound(viaProxy, { gateway, ledger: fleet.ledger, settlement: settlementFor(round, treeFor(round, devices())), journal })
  proxy.onRequest = undefined
  t.equal(result.status, 'settled')
  t.equal(await settledEvents(round), 1, 'settled exactly once')
  t.equal(sends() - before, 2, 'the journalled bytes were sent again after the outage')
})

t.test('an outage longer than the deadline fails typed; the next run finishes the round', async (t) => {
  const round = 3n
  const s = settlementFor(round, treeFor(round, devices()))
  proxy.onRequest = (method) => (method === 'eth_sendRawTransaction' ? 'forward-then-down' : 'forward')
  const failed = await rejection(settleRound(viaProxy, { gateway, ledger: fleet.ledger, settlement: s, journal: new FileSettlementJournal(directory), timeoutMs: 1500 }))
  proxy.onRequest = undefined
  t.match(failed, { code: 'CW_CHAIN_UNAVAILABLE', name: 'ChainUnavailableError' })
  const pending = await new FileSettlementJournal(directory).get(round)
  t.ok(pending, 'the transaction stays journalled')
  await proxy.up()
  const result = await settleRound(viaProxy, { gateway, ledger: fleet.ledger, settlement: s, journal: new FileSettlementJournal(directory) })
  t.equal(result.status, 'settled')
  t.equal(result.transactionHash, pending?.hash)
  t.equal(await settledEvents(round), 1, 'settled exactly once')
})

t.test('a transaction that is not confirmed in time fails typed and stays journalled', async (t) => {
  const round = 4n
  const s = settlementFor(round, treeFor(round, devices()))
  const impatient = await connectChain({ config: { rpcUrl: proxy.url, chainId: 31337, confirmations: 60, pollIntervalMs: 50 }, logger: quietLogger() })
  const failed = await rejection(settleRound(impatient, { gateway, ledger: fleet.ledger, settlement: s, journal: new FileSettlementJournal(directory), timeoutMs: 1000 }))
  t.match(failed, { code: 'CW_CHAIN_CONFIRMATION_TIMEOUT', name: 'ConfirmationTimeoutError' })
  t.ok(await new FileSettlementJournal(directory).get(round), 'still journalled')
  const result = await settleRound(viaProxy, { gateway, ledger: fleet.ledger, settlement: s, journal: new FileSettlementJournal(directory), fromBlock: fleet.deployedAt })
  t.equal(result.status, 'settled', 'the next run finishes it')
  t.equal(await settledEvents(round), 1)
})

t.test('the chain id is checked and the configuration validated', async (t) => {
  t.match(await rejection(connectChain({ config: { rpcUrl: node.url, chainId: 1 } })), { code: 'CW_CHAIN_ID_MISMATCH', details: { expected: 1, actual: 31337 } })
  t.match(await rejection(connectChain({ config: { rpcUrl: 'ftp://127.0.0.1:1' } })), { code: 'CW_SETTLEMENT_CONFIG', details: { field: 'chain.rpcUrl' } })
  t.match(await rejection(connectChain({ config: { confirmations: 0 } })), { code: 'CW_SETTLEMENT_CONFIG', details: { field: 'chain.confirmations' } })
  t.match(await rejection(connectChain({ config: { chainId: -5 } as never })), { code: 'CW_SETTLEMENT_CONFIG', details: { field: 'chain.chainId' } }) // a hostile config file
  t.match(await rejection(connectChain({ config: { rpcUrl: node.url, extra: 1 } as never })), { code: 'CW_SETTLEMENT_CONFIG' })
})
