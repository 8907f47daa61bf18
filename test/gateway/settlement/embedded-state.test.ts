// The embedded EVM keeps its chain in a state file of the data directory: a restarted demo sees
// its earlier rounds, with their settlement times, and goes on from there.
import t from 'tap'
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rewardLedgerAbi, isSettledModel } from '../../../protocols/contracts/index.js'
import { createMemorySigner } from '../../../protocols/index.js'
import { connectChain, deployFleet, MemorySettlementJournal, registerDevices, settleRound, signerToAccount } from '../../../gateway/settlement/index.js'
import { quietLogger } from './helpers/backends.js'
import { FLEET, hash, settlementFor, treeFor } from './helpers/fixtures.js'

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  return { code: 'DID_NOT_REJECT' }
}

const directory = await mkdtemp(join(tmpdir(), 'cw-embedded-state-'))
t.teardown(() => rm(directory, { recursive: true, force: true }))
const stateFile = join(directory, 'data', 'chain.jsonl')
const owner = signerToAccount({ signer: createMemorySigner() })
const gateway = signerToAccount({ signer: createMemorySigner() })
const open = () => connectChain({ config: { embeddedStateFile: stateFile }, fund: [owner.address, gateway.address], logger: quietLogger() })
const devices = Array.from({ length: 5 }, () => createMemorySigner().address)

t.test('a restarted embedded chain has its earlier rounds', async (t) => {
  const first = await open()
  const fleet = await deployFleet(first, { owner, fleet: FLEET, gateways: [gateway.address] })
  await registerDevices(first, { owner, registry: fleet.registry, devices: devices.map((device, i) => ({ device, certificateHash: hash(`c${i}`) })) })
  const s1 = settlementFor(1n, treeFor(1n, devices))
  await settleRound(first, { gateway, ledger: fleet.ledger, settlement: s1, journal: new MemorySettlementJournal() })
  const settlementOf = (c: typeof first) =>
    Promise.all([
      c.publicClient.readContract({ address: fleet.ledger, abi: rewardLedgerAbi, functionName: 'rootOf', args: [1n] }),
      c.publicClient.readContract({ address: fleet.ledger, abi: rewardLedgerAbi, functionName: 'settledAtOf', args: [1n, s1.newModel] }),
    ])
  const before = await settlementOf(first)
  const blocks = await first.publicClient.getBlockNumber()
  await first.close()

  const second = await open()
  t.equal(await second.publicClient.getBlockNumber(), blocks, 'the same number of blocks')
  const after = await settlementOf(second)
  t.same(after, before, 'round 1 with its settlement time')
  t.same(await isSettledModel(second.publicClient, { ledger: fleet.ledger, model: s1.newModel }), { settled: true, round: 1n })
  const again = await settleRound(second, { gateway, ledger: fleet.ledger, settlement: s1, journal: new MemorySettlementJournal() })
  t.equal(again.status, 'already-settled')
  const s2 = settlementFor(2n, treeFor(2n, devices))
  t.equal((await settleRound(second, { gateway, ledger: fleet.ledger, settlement: s2, journal: new MemorySettlementJournal() })).status, 'settled', 'and it goes on')
  await second.close()

  // A crash can leave half a line at the end: it is dropped, the rest replays.
  await appendFile(stateFile, '{"method":"eth_sendRawTr')
  const third = await open()
  t.same(await isSettledModel(third.publicClient, { ledger: fleet.ledger, model: s2.newModel }), { settled: true, round: 2n })
  await third.close()
})

t.test('a state file that does not fit is refused', async (t) => {
  t.match(await rejection(connectChain({ config: { embeddedStateFile: stateFile, chainId: 5 }, logger: quietLogger() })), { code: 'CW_CHAIN_EMBEDDED' }, 'another chain id')
  const text = await readFile(stateFile, 'utf8')
  const garbage = join(directory, 'garbage.jsonl')
  await writeFile(garbage, `not json\n${text}`)
  t.match(await rejection(connectChain({ config: { embeddedStateFile: garbage }, logger: quietLogger() })), { code: 'CW_CHAIN_EMBEDDED' }, 'a malformed header')
  const middle = join(directory, 'middle.jsonl')
  const [head, ...rest] = text.split('\n')
  await writeFile(middle, [head, '{"method":"eth_call","params":[],"timestamp":1}', ...rest].join('\n'))
  t.match(await rejection(connectChain({ config: { embeddedStateFile: middle }, logger: quietLogger() })), { code: 'CW_CHAIN_EMBEDDED' }, 'a method that is never recorded')
})
