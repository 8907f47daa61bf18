// The generated artifacts match what solc-js makes of the Solidity sources today: editing a
// contract without `npm run build:contracts` fails here.
import t from 'tap'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ARTIFACTS_FILE, render, SOURCE_DIR } from '../../../scripts/build-contracts.js'
import * as artifacts from '../../../protocols/contracts/index.js'
import { CONTRIBUTION_LEAF_ENCODING, CUMULATIVE_LEAF_ENCODING } from '../../../protocols/index.js'

const current = render()
t.equal(current, await readFile(ARTIFACTS_FILE, 'utf8'), 'protocols/contracts/artifacts.ts is up to date (run `npm run build:contracts`)')

t.test('a changed source changes the artifacts', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'cw-contracts-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  await cp(SOURCE_DIR, directory, { recursive: true })
  const file = join(directory, 'RoundLedger.sol')
  await writeFile(file, (await readFile(file, 'utf8')).replace('uint64 settledAt;', 'uint64 settledAt; // changed\n'))
  t.equal(render(directory), current, 'a comment does not change the artifacts')
  await writeFile(file, (await readFile(file, 'utf8')).replace('error RoundOutOfRange(uint64 round);', 'error RoundOutOfRange(uint64 round);\n    error Added();'))
  t.not(render(directory), current, 'a new error does')
})

t.test('the artifacts expose what the client relies on', async (t) => {
  t.match(artifacts.SOLC_VERSION, /^0\.8\.37\+/)
  t.equal(artifacts.OPENZEPPELIN_VERSION, '5.7.0')
  for (const bytecode of [artifacts.fleetRegistryBytecode, artifacts.roundLedgerBytecode, artifacts.rewardsBytecode]) t.match(bytecode, /^0x[0-9a-f]{200,}$/)
  const settle = artifacts.roundLedgerAbi.find((i) => i.type === 'function' && i.name === 'settle')
  t.same(
    settle?.inputs.map((i) => i.type),
    ['bytes32', 'uint64', 'bytes32', 'bytes32', 'bytes32', 'uint256', 'bytes32'],
  )
  const event = artifacts.roundLedgerAbi.find((i) => i.type === 'event' && i.name === 'RoundSettled')
  t.same(
    event?.inputs.map((i) => i.name),
    ['fleet', 'round', 'gateway', 'parentModel', 'newModel', 'contributionsRoot', 'rewardTotal', 'recordHash'],
  )
  t.ok(artifacts.roundLedgerAbi.some((i) => i.type === 'function' && i.name === 'isSettledModel'))
  // The claim's leaf fields, in order, are the contribution leaf's (protocols/merkle/contributions.ts).
  const claim = artifacts.rewardsAbi.find((i) => i.type === 'function' && i.name === 'claim')
  const tuple = claim?.inputs[1]
  t.same(
    tuple !== undefined && 'components' in tuple ? tuple.components.slice(0, 3).map((c) => c.type) : [],
    [CONTRIBUTION_LEAF_ENCODING[0], CONTRIBUTION_LEAF_ENCODING[2], CONTRIBUTION_LEAF_ENCODING[3]],
  )
})

t.test('every custom error of every contract decodes into a typed error', async (t) => {
  const { CONTRACT_ERRORS } = await import('../../../hardware/chain/index.js')
  for (const [name, abi] of Object.entries({ FleetRegistry: artifacts.fleetRegistryAbi, RoundLedger: artifacts.roundLedgerAbi, Rewards: artifacts.rewardsAbi, RewardLedger: artifacts.rewardLedgerAbi }))
    for (const item of abi) if (item.type === 'error') t.ok(CONTRACT_ERRORS[item.name] !== undefined, `${name}.${item.name} has a typed error`)
})

t.test('the RewardLedger settles like a RoundLedger and claims cumulative leaves', async (t) => {
  const settle = (abi: readonly { type: string; name?: string; inputs?: readonly { type: string }[] }[]) => abi.find((i) => i.type === 'function' && i.name === 'settle')?.inputs?.map((i) => i.type)
  t.same(settle(artifacts.rewardLedgerAbi), settle(artifacts.roundLedgerAbi), 'the same settle arguments, so one settlement client serves both')
  const event = (abi: readonly { type: string; name?: string; inputs?: readonly { type: string }[] }[]) => abi.find((i) => i.type === 'event' && i.name === 'RoundSettled')?.inputs?.map((i) => i.type)
  t.same(event(artifacts.rewardLedgerAbi), event(artifacts.roundLedgerAbi), 'the same RoundSettled event')
  const claim = artifacts.rewardLedgerAbi.find((i) => i.type === 'function' && i.name === 'claim')
  t.same(claim?.inputs.slice(1, 3).map((i) => i.type), [...CUMULATIVE_LEAF_ENCODING], "the claim's leaf fields are the cumulative leaf's")
})
