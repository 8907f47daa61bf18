// Gas of the settlement contracts on the embedded EVM (EDR, latest hardfork): settling a round of
// N contributions, claims, batch registration, and a naive baseline (one transaction per
// contribution) measured in the same run. Prints a table and writes bench/results/gas.json.
//   npx tsx bench/gas.ts [--quick]     (--quick runs the naive baseline up to N = 100 only)
import { createRequire } from 'node:module'
import { encodeFunctionData, getAddress, type Abi, type Address, type Hex, type LocalAccount, type TransactionReceipt } from 'viem'
import { pino } from 'pino'
import { buildContributionTree, createMemorySigner, type ContributionLeaf, type ContributionTree } from '../protocols/index.js'
import { rewardsAbi } from '../protocols/contracts/index.js'
import {
  claimRewards,
  connectChain,
  deployAndConfirm,
  deployFleet,
  MemorySettlementJournal,
  registerDevices,
  settleRound,
  signerToAccount,
  type ChainConnection,
} from '../gateway/settlement/index.js'
import { writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const SIZES = [10, 100, 1_000, 10_000] as const
const CLAIM_SIZES = [16, 128, 1_000] as const
const NAIVE_EXECUTED = quick ? [10, 100] : [10, 100, 1_000]
const GOALS = { settle: 120_000, claim: 60_000, claimTen: 150_000 }

// The naive baseline: every contribution is its own transaction that records it and credits its
// score, i.e. what settling would cost without the Merkle root.
const NAIVE_SOURCE = `// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;
contract NaiveLedger {
    mapping(uint64 => mapping(address => bytes32)) public contributions;
    mapping(address => uint256) public balances;
    mapping(uint64 => uint256) public totals;
    event Contribution(uint64 indexed round, address indexed device, bytes32 attestationHash, uint256 score);
    function record(uint64 round, address device, bytes32 attestationHash, uint256 score) external {
        contributions[round][device] = attestationHash;
        balances[device] += score;
        totals[round] += score;
        emit Contribution(round, device, attestationHash, score);
    }
}`

function compileNaive(): { abi: Abi; bytecode: Hex } {
  const solc = createRequire(import.meta.url)('solc') as { compile(input: string): string }
  const input = {
    language: 'Solidity',
    sources: { 'NaiveLedger.sol': { content: NAIVE_SOURCE } },
    settings: { evmVersion: 'cancun', optimizer: { enabled: true, runs: 10_000 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  }
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as { contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>> }
  const c = out.contracts['NaiveLedger.sol']?.NaiveLedger
  if (c === undefined) throw new Error('NaiveLedger did not compile')
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` }
}

const hashOf = (i: number): Hex => `0x${i.toString(16).padStart(64, '0')}`

function treeFor(round: bigint, devices: readonly Address[]): ContributionTree {
  const leaves: ContributionLeaf[] = devices.map((device, i) => ({ round, device, attestationHash: hashOf(i + 1), score: BigInt(1_000 + i) }))
  return buildContributionTree(leaves)
}

const randomDevices = (n: number): Address[] => Array.from({ length: n }, () => createMemorySigner().address)

async function measure(hardfork: string | undefined): Promise<{ rows: Row[]; goal: Record<string, { goal: number; met: boolean }> }> {
  const owner = signerToAccount({ signer: createMemorySigner() })
  const gateway = signerToAccount({ signer: createMemorySigner() })
  const connection = await connectChain({
    config: hardfork === undefined ? {} : { embeddedHardfork: hardfork },
    fund: [owner.address, gateway.address],
    logger: pino({ enabled: false }),
  })
  const fleetId: Hex = `0x${'c0'.repeat(32)}`
  const fleet = await deployFleet(connection, { owner, fleet: fleetId, gateways: [gateway.address] })
  const rows: Row[] = []
  const goal: Record<string, { goal: number; met: boolean }> = {}
  const add = (group: string, name: string, value: number, limit?: number) => {
    rows.push({ group, name, value, unit: 'gas' })
    if (limit !== undefined) goal[`${group}/${name}`] = { goal: limit, met: value <= limit }
  }
  const gasOf = async (c: ChainConnection, hash: Hex | undefined): Promise<number> => {
    if (hash === undefined) throw new Error('no transaction')
    return Number((await c.publicClient.getTransactionReceipt({ hash })).gasUsed)
  }

  // Settlement, N contributions: the transaction carries only the root, so its gas is flat in N.
  const trees = new Map<number, { tree: ContributionTree; round: bigint }>()
  let round = 1n
  for (const n of SIZES) {
    const devices = randomDevices(n)
    const tree = treeFor(round, devices)
    trees.set(n, { tree, round })
    const result = await settleRound(connection, {
      gateway,
      ledger: fleet.ledger,
      journal: new MemorySettlementJournal(),
      settlement: {
        fleet: fleetId,
        round,
        parentModel: hashOf(Number(round) + 100),
        newModel: hashOf(Number(round) + 200),
        contributionsRoot: tree.root,
        rewardTotal: tree.leaves.reduce((s, l) => s + l.score, 0n),
        recordHash: hashOf(Number(round) + 300),
      },
    })
    add('settle one round', `N = ${n}`, await gasOf(connection, result.transactionHash), GOALS.settle)
    round++
  }

  // Claims. A claim's calldata holds a proof of log2(N) hashes per round, so its gas depends on the
  // size of the rounds claimed; both a small round (N = 16, 4 hashes) and a large one (N = 1,000,
  // 10 hashes) are measured. "first claim ever" pays for two new storage slots (the device's
  // token balance and its claimed-bitmap word); "claimed before" finds both in place.
  const claimFor = (t: ContributionTree, device: Address) => {
    const leaf = t.leaves.find((l) => getAddress(l.device) === getAddress(device))
    if (leaf === undefined) throw new Error('no leaf')
    return { leaf, proof: t.proof(device) }
  }
  for (const n of CLAIM_SIZES) {
    const [fresh, veteran, freshTen] = randomDevices(3) as [Address, Address, Address]
    const devices = [fresh, veteran, freshTen, ...randomDevices(n - 3)]
    const rounds: ContributionTree[] = []
    for (let i = 0; i < 12; i++) {
      const tree = treeFor(round, devices)
      await settleRound(connection, {
        gateway,
        ledger: fleet.ledger,
        journal: new MemorySettlementJournal(),
        settlement: { fleet: fleetId, round, parentModel: hashOf(1_000_000 + Number(round)), newModel: hashOf(2_000_000 + Number(round)), contributionsRoot: tree.root, rewardTotal: 1n, recordHash: hashOf(3_000_000 + Number(round)) },
      })
      rounds.push(tree)
      round++
    }
    const [a, b, ...tenRounds] = rounds as [ContributionTree, ContributionTree, ...ContributionTree[]]
    const group = `claim, rounds of N = ${n} (${a.proof(fresh).length}-hash proofs)`
    // The veteran claims first, so that no measured claim pays for the token's first mint ever.
    await claimRewards(connection, { account: gateway, rewards: fleet.rewards, device: veteran, claims: [claimFor(a, veteran)] })
    const first = await claimRewards(connection, { account: gateway, rewards: fleet.rewards, device: fresh, claims: [claimFor(a, fresh)] })
    add(group, "one round, the device's first claim ever", Number(first.gasUsed), GOALS.claim)
    const later = await claimRewards(connection, { account: gateway, rewards: fleet.rewards, device: veteran, claims: [claimFor(b, veteran)] })
    add(group, 'one round, a device that claimed before', Number(later.gasUsed), GOALS.claim)
    const tenFresh = await claimRewards(connection, { account: gateway, rewards: fleet.rewards, device: freshTen, claims: tenRounds.map((t) => claimFor(t, freshTen)) })
    add(group, "ten rounds in one transaction, the device's first claim ever", Number(tenFresh.gasUsed), GOALS.claimTen)
    const tenLater = await claimRewards(connection, { account: gateway, rewards: fleet.rewards, device: veteran, claims: tenRounds.map((t) => claimFor(t, veteran)) })
    add(group, 'ten rounds in one transaction, a device that claimed before', Number(tenLater.gasUsed), GOALS.claimTen)
    const balance = await connection.publicClient.readContract({ address: fleet.rewards, abi: rewardsAbi, functionName: 'balanceOf', args: [freshTen] })
    if (balance === 0n) throw new Error('the ten-round claim paid nothing')
  }

  // Registration: 100 devices in one batch.
  const reg = await registerDevices(connection, { owner, registry: fleet.registry, devices: randomDevices(100).map((device, i) => ({ device, certificateHash: hashOf(i + 1) })), batchSize: 100 })
  const regGas = Number(reg.receipts[0]?.gasUsed ?? 0n)
  add('register 100 devices in one batch', 'per device', regGas / 100)
  add('register 100 devices in one batch', 'whole batch', regGas)

  // The naive baseline: one transaction per contribution.
  const naive = compileNaive()
  const { address: naiveAddress } = await deployAndConfirm(connection, { account: owner, abi: naive.abi, bytecode: naive.bytecode, args: [] })
  const naiveTotals = new Map<number, { gas: number; executed: boolean }>()
  let perTx = 0
  for (const n of NAIVE_EXECUTED) {
    const t = trees.get(n)
    if (t === undefined) throw new Error('no tree')
    const total = await sendNaive(connection, owner, naiveAddress, naive.abi, t.tree.leaves)
    naiveTotals.set(n, { gas: total, executed: true })
    perTx = total / n
  }
  for (const n of SIZES) if (!naiveTotals.has(n)) naiveTotals.set(n, { gas: Math.round(perTx * n), executed: false })
  for (const n of SIZES) {
    const entry = naiveTotals.get(n)
    if (entry === undefined) continue
    add('naive: one transaction per contribution', `N = ${n}${entry.executed ? '' : ' (extrapolated from the mean above)'}`, entry.gas)
  }
  await connection.close()
  return { rows, goal }
}

async function main(): Promise<void> {
  const results: Record<string, { rows: Row[]; goal: Record<string, { goal: number; met: boolean }> }> = {}
  // The latest fork prices calldata with EIP-7623's floor (Prague), which claims with long
  // proofs hit; Cancun is what many chains still run.
  for (const [label, fork] of [['latest (osaka)', undefined], ['cancun', 'cancun']] as const) {
    const { rows, goal } = await measure(fork)
    results[label] = { rows, goal }
    printGasTable(`Gas on the embedded EVM, hardfork ${label} (contracts compiled for cancun, optimizer 10,000 runs)`, rows, goal)
  }
  const all: Row[] = Object.entries(results).flatMap(([label, r]) => r.rows.map((row) => ({ ...row, group: `${label}: ${row.group}` })))
  const goals = Object.fromEntries(Object.entries(results).flatMap(([label, r]) => Object.entries(r.goal).map(([k, v]) => [`${label}: ${k}`, v])))
  const file = writeResults('gas', all, { goals, naiveExecutedUpTo: Math.max(...NAIVE_EXECUTED) })
  console.log(`\nwrote ${file}`)
}

function printGasTable(title: string, rows: readonly Row[], goal: Record<string, { goal: number; met: boolean }>): void {
  const header = ['operation', 'case', 'gas', 'goal', 'met']
  const lines = rows.map((r) => {
    const g = goal[`${r.group}/${r.name}`]
    return [r.group, r.name, Math.round(r.value).toLocaleString('en'), g === undefined ? '' : `<= ${g.goal.toLocaleString('en')}`, g === undefined ? '' : g.met ? 'yes' : 'NO']
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  console.log(`\n${title}\n`)
  console.log(line(header))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const l of lines) console.log(line(l))
  const settleGas = rows.filter((r) => r.group === 'settle one round').map((r) => r.value)
  // The only difference between settlements is calldata: a zero byte in the root or the total costs 4 gas, any other 16 (EIP-2028).
  const spread = Math.max(...settleGas) - Math.min(...settleGas)
  console.log(`\nsettlement gas across N: min ${Math.min(...settleGas)}, max ${Math.max(...settleGas)}; spread ${spread} gas, from calldata bytes only (constant in N: ${spread < 100 ? 'yes' : 'NO'})`)
}

async function sendNaive(connection: ChainConnection, account: LocalAccount, address: Address, abi: Abi, leaves: readonly ContributionLeaf[]): Promise<number> {
  // Pre-signed with explicit nonces and a fixed gas limit so that the run is bounded by the EVM,
  // not by a round trip of estimation per transaction.
  const client = connection.publicClient
  let nonce = await client.getTransactionCount({ address: account.address })
  const fees = await client.estimateFeesPerGas()
  let total = 0
  const receipts: Promise<TransactionReceipt>[] = []
  for (const leaf of leaves) {
    const data = encodeFunctionData({ abi, functionName: 'record', args: [leaf.round, leaf.device, leaf.attestationHash, leaf.score] })
    const raw = await account.signTransaction({
      chainId: connection.chain.id,
      type: 'eip1559',
      to: address,
      data,
      nonce: nonce++,
      gas: 200_000n,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    })
    const hash = await client.sendRawTransaction({ serializedTransaction: raw })
    receipts.push(client.getTransactionReceipt({ hash }))
  }
  for (const r of await Promise.all(receipts)) {
    if (r.status !== 'success') throw new Error('naive transaction reverted')
    total += Number(r.gasUsed)
  }
  return total
}

await main()
