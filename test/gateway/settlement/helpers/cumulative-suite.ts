// The RewardLedger conformance suite (cumulative reward leaves), against every chain backend: the
// embedded EVM and a separately started node. Claims after 1, 2 and 10 rounds, proofs from older
// roots, revocation mid-way, a gateway lowering a total, sweep after expiry, the packed token and
// every revert decoded into its typed error.
import { getAddress, type Address, type Hex } from 'viem'
import { accumulateRewards, buildCumulativeTree, createMemorySigner, type CumulativeLeaf, type CumulativeTree, type RoundReward } from '../../../../protocols/index.js'
import { readRoundSettlement, rewardLedgerAbi } from '../../../../protocols/contracts/index.js'
import {
  claimCumulativeReward,
  deployFleet,
  MemorySettlementJournal,
  registerDevices,
  revokeDevices,
  settleRound,
  sweepCumulativeRewards,
  writeAndConfirm,
  type FleetContracts,
} from '../../../../gateway/settlement/index.js'
import { startBackend, type BackendName } from './backends.js'
import { FLEET, hash } from './fixtures.js'
import type { Tap } from './suite.js'

const CLAIM_EXPIRY = 3600n

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  return { code: 'DID_NOT_REJECT' }
}

const devicesOf = (n: number): Address[] => Array.from({ length: n }, () => getAddress(createMemorySigner().address))

export async function cumulativeSuite(t: Tap, name: BackendName): Promise<void> {
  const backend = await startBackend(name)
  t.teardown(() => backend.stop())
  const { connection, owner, gateway, stranger } = backend
  const client = connection.publicClient
  const fleet: FleetContracts = await deployFleet(connection, { owner, fleet: FLEET, gateways: [gateway.address], claimExpirySeconds: CLAIM_EXPIRY })
  const ledger = fleet.ledger

  // The fleet's history: each settled round's tree of cumulative totals.
  const trees = new Map<bigint, CumulativeTree>()
  let totals: CumulativeLeaf[] = []
  let lastRound = 0n
  const settle = async (round: bigint, rewards: readonly RoundReward[], over: { leaves?: CumulativeLeaf[]; newModel?: Hex; parentModel?: Hex } = {}) => {
    const next = over.leaves ?? accumulateRewards(totals, rewards)
    const tree = buildCumulativeTree(next)
    const result = await settleRound(connection, {
      gateway,
      ledger,
      journal: new MemorySettlementJournal(),
      settlement: {
        fleet: FLEET,
        round,
        parentModel: over.parentModel ?? hash(`model-${round - 1n}`),
        newModel: over.newModel ?? hash(`model-${round}`),
        contributionsRoot: tree.root,
        rewardTotal: rewards.reduce((s, r) => s + r.reward, 0n),
        recordHash: hash(`record-${round}`),
      },
    })
    trees.set(round, tree)
    if (over.leaves === undefined) totals = next
    lastRound = round
    return result
  }
  const leafIn = (round: bigint, device: Address): CumulativeLeaf => {
    const leaf = trees.get(round)?.leaves.find((l) => l.device === device)
    if (leaf === undefined) throw new Error(`no leaf of ${device} in round ${round}`)
    return leaf
  }
  const claim = (round: bigint, device: Address, account = stranger) => {
    const tree = trees.get(round)
    if (tree === undefined) throw new Error(`round ${round} not settled here`)
    return claimCumulativeReward(connection, { account, ledger, round, leaf: leafIn(round, device), proof: tree.proof(device) })
  }
  const balance = (a: Address) => client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'balanceOf', args: [a] })
  const claimedOf = (a: Address) => client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'claimedOf', args: [a] })

  const [alice, bob, carol, dave, erin, frank] = devicesOf(6) as [Address, Address, Address, Address, Address, Address]
  const others = devicesOf(20)
  const earned = new Map<Address, bigint>()
  const rewardsOf = (round: bigint): RoundReward[] => {
    // Alice, Bob, Carol and Dave earn every round; Erin only in rounds 1 to 3 (then she is revoked);
    // Frank from round 4; twenty others now and then.
    const r: RoundReward[] = [alice, bob, carol, dave].map((device, i) => ({ device, reward: 100n * round + BigInt(i) }))
    if (round <= 3n) r.push({ device: erin, reward: 1_000n + round })
    if (round >= 4n) r.push({ device: frank, reward: 7n })
    others.forEach((device, i) => {
      if ((Number(round) + i) % 3 === 0) r.push({ device, reward: BigInt(i + 1) })
    })
    return r
  }
  const sumThrough = (device: Address, round: bigint): bigint => {
    let sum = 0n
    for (let r = 1n; r <= round; r++) sum += rewardsOf(r).find((x) => x.device === device)?.reward ?? 0n
    return sum
  }

  await t.test('one contract is registry, ledger and token', async (t) => {
    t.equal(fleet.leaves, 'cumulative')
    t.equal(fleet.registry, fleet.ledger)
    t.equal(fleet.rewards, fleet.ledger)
    t.equal(await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'registry' }), ledger)
    t.equal(await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'owner' }), owner.address)
    t.equal(await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'fleet' }), FLEET)
    t.equal(await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'isGateway', args: [gateway.address] }), true)
    t.equal(await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'claimExpiry' }), CLAIM_EXPIRY)
  })

  await t.test('claims after 1, 2 and 10 rounds pay exactly the cumulative totals', async (t) => {
    await registerDevices(connection, { owner, registry: fleet.registry, devices: [alice, bob, carol, dave, erin, frank].map((device, i) => ({ device, certificateHash: hash(`cert-${i}`) })) })
    for (let round = 1n; round <= 10n; round++) {
      await settle(round, rewardsOf(round))
      if (round === 1n) {
        await claim(1n, alice)
        t.equal(await balance(alice), sumThrough(alice, 1n), 'after 1 round')
      }
      if (round === 2n) {
        await claim(2n, bob)
        t.equal(await balance(bob), sumThrough(bob, 2n), 'after 2 rounds, one proof')
      }
      if (round === 3n) {
        await revokeDevices(connection, { owner, registry: fleet.registry, devices: [erin] })
        t.equal(await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'status', args: [erin] }), 2, 'erin is revoked after round 3')
        await claim(3n, dave)
      }
    }
    const receipt = await claim(10n, carol)
    t.equal(await balance(carol), sumThrough(carol, 10n), 'ten rounds in one claim with one proof')
    t.equal(receipt.logs.length, 1, 'one Transfer event')
    await claim(10n, alice)
    t.equal(await balance(alice), sumThrough(alice, 10n), "a later claim pays the rest: alice's ten rounds in all")
    t.equal(await claimedOf(alice), sumThrough(alice, 10n))
    for (const d of [alice, bob, carol, dave]) earned.set(d, sumThrough(d, 10n))
  })

  await t.test('a proof from an older root pays only what is due', async (t) => {
    // Dave claimed at round 3; round 6's root pays rounds 4 to 6 only.
    const before = await balance(dave)
    t.equal(before, sumThrough(dave, 3n))
    await claim(6n, dave)
    t.equal(await balance(dave), sumThrough(dave, 6n), 'rounds 4-6 on top of 1-3')
    t.match(await rejection(claim(5n, dave)), { code: 'CW_CHAIN_NOTHING_TO_CLAIM', name: 'NothingToClaimError', details: { errorName: 'NothingToClaim', args: [dave, sumThrough(dave, 5n).toString(), sumThrough(dave, 6n).toString()] } })
    t.match(await rejection(claim(6n, dave)), { code: 'CW_CHAIN_NOTHING_TO_CLAIM' }, 'the same claim twice pays once')
    await claim(10n, dave)
    t.equal(await balance(dave), sumThrough(dave, 10n))
    t.match(await rejection(claim(10n, carol)), { code: 'CW_CHAIN_NOTHING_TO_CLAIM' })
  })

  await t.test('a device revoked mid-way keeps what it earned', async (t) => {
    t.equal(leafIn(10n, erin).cumulativeAmount, sumThrough(erin, 3n), "erin's leaf carries her rounds 1-3 into round 10")
    await claim(10n, erin)
    t.equal(await balance(erin), 3_006n, 'paid 1,001 + 1,002 + 1,003 after revocation')
  })

  await t.test('a gateway cannot lower a cumulative total: an earlier root still pays it', async (t) => {
    // Round 11 settles Frank's total lowered to 1 (an audit of the records flags this root: see
    // rebuildCumulativeRewards; the ledger sees a root only).
    // Nobody earns in round 11, so its honest totals are round 10's.
    const lowered = totals.map((l) => (l.device === frank ? { ...l, cumulativeAmount: 1n } : l))
    await settle(11n, [], { leaves: lowered })
    await claim(11n, frank)
    t.equal(await balance(frank), 1n, 'the lowered root pays its lowered total')
    await claim(10n, frank)
    t.equal(await balance(frank), sumThrough(frank, 10n), 'the older root pays the rest: nothing earned is lost')
    t.match(await rejection(claim(11n, alice)), { code: 'CW_CHAIN_NOTHING_TO_CLAIM' }, 'and a lowered root cannot take back what was paid')
    t.equal(await balance(alice), earned.get(alice))
  })

  await t.test('claims are checked: proof, round, device', async (t) => {
    const tree = trees.get(10n) as CumulativeTree
    const raised = { ...leafIn(10n, bob), cumulativeAmount: leafIn(10n, bob).cumulativeAmount + 1n }
    t.match(await rejection(claimCumulativeReward(connection, { account: stranger, ledger, round: 10n, leaf: raised, proof: tree.proof(bob) })), {
      code: 'CW_CHAIN_INVALID_PROOF',
      details: { errorName: 'InvalidProof', args: ['10', bob] },
    })
    t.match(await rejection(claimCumulativeReward(connection, { account: stranger, ledger, round: 99n, leaf: leafIn(10n, bob), proof: tree.proof(bob) })), { code: 'CW_CHAIN_ROUND_NOT_SETTLED' })
    t.match(await rejection(claimCumulativeReward(connection, { account: stranger, ledger, round: 10n, leaf: leafIn(10n, bob), proof: tree.proof(alice) })), { code: 'CW_CHAIN_INVALID_PROOF' })
    t.match(
      await rejection(writeAndConfirm(connection, { account: stranger, address: ledger, abi: rewardLedgerAbi, functionName: 'claim', args: [10n, '0x0000000000000000000000000000000000000000', 1n, []] })),
      { code: 'CW_CHAIN_BAD_ARGUMENT', details: { errorName: 'ZeroAddress' } },
    )
    t.match(await rejection(claimCumulativeReward(connection, { account: stranger, ledger, round: -1n, leaf: leafIn(10n, bob), proof: [] })), { code: 'CW_INVALID_ARGUMENT', details: { field: 'round' } })
    await claim(10n, bob)
    t.equal(await balance(bob), sumThrough(bob, 10n))
  })

  await t.test('settlement: gateway only, once per round, provenance, read back like a RoundLedger', async (t) => {
    const journal = new MemorySettlementJournal()
    const tree = buildCumulativeTree(totals)
    const s = { fleet: FLEET, round: 50n, parentModel: hash('p50'), newModel: hash('m50'), contributionsRoot: tree.root, rewardTotal: 5n, recordHash: hash('r50') }
    t.match(await rejection(settleRound(connection, { gateway: stranger, ledger, settlement: s, journal })), { code: 'CW_CHAIN_NOT_GATEWAY' })
    t.match(await rejection(settleRound(connection, { gateway, ledger, settlement: { ...s, fleet: hash('another fleet') }, journal })), { code: 'CW_CHAIN_WRONG_FLEET' })
    t.match(await rejection(settleRound(connection, { gateway, ledger, settlement: { ...s, newModel: hash('model-3') }, journal })), { code: 'CW_CHAIN_MODEL_ALREADY_SETTLED' })
    const settled = await settleRound(connection, { gateway, ledger, settlement: s, journal })
    t.equal(settled.status, 'settled')
    const again = await settleRound(connection, { gateway, ledger, settlement: s, journal: new MemorySettlementJournal() })
    t.equal(again.status, 'already-settled', 'a second run finds it settled')
    const read = await readRoundSettlement(client, { ledger, round: 50n, fromBlock: fleet.deployedAt })
    t.match(read, { settled: true, ...s, gateway: gateway.address, transactionHash: settled.transactionHash })
    if (read.settled) t.equal(await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'settledAtOf', args: [50n, s.newModel] }), read.settledAt)
    t.same(await readRoundSettlement(client, { ledger, round: 51n }), { settled: false })
    t.same(await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'roundOfModel', args: [s.newModel] }), [true, 50n])
    // A round that keeps its settled parent re-names it and keeps the first provenance.
    await settleRound(connection, { gateway, ledger, settlement: { ...s, round: 51n, parentModel: s.newModel, recordHash: hash('r51') }, journal })
    t.same(await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'roundOfModel', args: [s.newModel] }), [true, 50n])
    t.not(await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'settledAtOf', args: [51n, s.newModel] }), 0n, 'its own settlement time is kept')
  })

  await t.test('sweep: owner only, after expiry, and what it takes counts as claimed', async (t) => {
    const [grace] = devicesOf(1) as [Address]
    await settle(60n, [{ device: grace, reward: 40n }], { parentModel: hash('m50') })
    const tree = trees.get(60n) as CumulativeTree
    const leaves = [{ leaf: leafIn(60n, grace), proof: tree.proof(grace) }]
    const sweep = (account = owner, newModel = hash('model-60')) => sweepCumulativeRewards(connection, { owner: account, ledger, to: owner.address, round: 60n, newModel, leaves })
    t.match(await rejection(sweep()), { code: 'CW_CHAIN_CLAIM_NOT_EXPIRED', details: { errorName: 'ClaimNotExpired' } })
    await backend.increaseTime(Number(CLAIM_EXPIRY) + 1)
    t.match(await rejection(sweep(stranger)), { code: 'CW_CHAIN_NOT_OWNER' })
    t.match(await rejection(sweep(owner, hash('model-59'))), { code: 'CW_CHAIN_BAD_ARGUMENT', details: { errorName: 'ModelNotOfRound' } })
    const ownerBefore = await balance(owner.address)
    await sweep()
    t.equal(await balance(owner.address), ownerBefore + 40n, 'the owner swept the unclaimed 40')
    t.equal(await claimedOf(grace), 40n)
    t.match(await rejection(claim(60n, grace)), { code: 'CW_CHAIN_NOTHING_TO_CLAIM' }, 'a swept total cannot be claimed')
    await sweep()
    t.equal(await balance(owner.address), ownerBefore + 40n, 'sweeping again takes nothing')
    // What later rounds add is the device's again.
    await settle(61n, [{ device: grace, reward: 2n }])
    await claim(61n, grace)
    t.equal(await balance(grace), 2n)
  })

  await t.test('the token: packed balances transfer, claimed totals stay', async (t) => {
    const before = await balance(alice)
    await writeAndConfirm(connection, { account: owner, address: ledger, abi: rewardLedgerAbi, functionName: 'transfer', args: [alice, 1n] })
    t.equal(await balance(alice), before + 1n)
    t.equal(await claimedOf(alice), earned.get(alice), 'a transfer in does not change what was claimed')
    const supply = await client.readContract({ address: ledger, abi: rewardLedgerAbi, functionName: 'totalSupply' })
    let sum = 0n
    for (const a of [alice, bob, carol, dave, erin, frank, owner.address]) sum += await balance(a)
    t.ok(supply >= sum, 'the supply covers the balances')
    t.match(await rejection(writeAndConfirm(connection, { account: stranger, address: ledger, abi: rewardLedgerAbi, functionName: 'transfer', args: [alice, 1n] })), {
      code: 'CW_CHAIN_TOKEN',
      details: { errorName: 'ERC20InsufficientBalance' },
    })
    t.ok(lastRound >= 61n)
  })
}
