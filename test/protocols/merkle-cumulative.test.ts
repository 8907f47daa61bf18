import t from 'tap'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { concat, encodeAbiParameters, getAddress, keccak256, type Address, type Hex } from 'viem'
import {
  InvalidArgumentError,
  MerkleLeafNotFoundError,
  accumulateRewards,
  cumulativeRootOf,
  EMPTY_CUMULATIVE_ROOT,
  buildCumulativeTree,
  findCumulativeDecreases,
  verifyCumulative,
  type CumulativeLeaf,
} from '../../protocols/index.js'

const device = (i: number): Address => getAddress(`0x${i.toString(16).padStart(40, '0')}`)
const leafHash = (l: CumulativeLeaf): Hex => keccak256(keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [l.device, l.cumulativeAmount])))
const processProof = (leaf: Hex, proof: readonly Hex[]): Hex =>
  proof.reduce<Hex>((acc, p) => keccak256(acc.toLowerCase() < p.toLowerCase() ? concat([acc, p]) : concat([p, acc])), leaf)

t.test('totals after 1, 2 and 10 rounds are the sums of the rounds, and devices keep their leaves', async (t) => {
  let totals: CumulativeLeaf[] = []
  const expected = new Map<Address, bigint>()
  for (let round = 1; round <= 10; round++) {
    // Device 1 earns every round, device 2 only in round 1 (then, say, is revoked), device 3 from round 5.
    const rewards = [{ device: device(1), reward: 100n }]
    if (round === 1) rewards.push({ device: device(2), reward: 7n })
    if (round >= 5) rewards.push({ device: device(3), reward: BigInt(round) })
    for (const r of rewards) expected.set(r.device, (expected.get(r.device) ?? 0n) + r.reward)
    const next = accumulateRewards(totals, rewards)
    t.same(findCumulativeDecreases(totals, next), [], `round ${round}: no total goes down`)
    totals = next
    if (round === 1 || round === 2 || round === 10)
      t.same(new Map(totals.map((l) => [l.device, l.cumulativeAmount])), expected, `round ${round}: cumulative totals`)
  }
  t.equal(totals.find((l) => l.device === device(2))?.cumulativeAmount, 7n, 'a device that stopped earning keeps what it earned')
  t.equal(totals.find((l) => l.device === device(3))?.cumulativeAmount, 5n + 6n + 7n + 8n + 9n + 10n)
})

t.test('a decrease or a dropped device is found', async (t) => {
  const previous = [{ device: device(1), cumulativeAmount: 10n }, { device: device(2), cumulativeAmount: 5n }]
  t.same(findCumulativeDecreases(previous, [{ device: device(1), cumulativeAmount: 9n }]), [
    { device: device(1), previous: 10n, next: 9n },
    { device: device(2), previous: 5n, next: 0n },
  ])
})

t.test('root and proofs equal those of @openzeppelin/merkle-tree, and verify independently', async (t) => {
  const leaves = Array.from({ length: 37 }, (_, i) => ({ device: device(i + 1), cumulativeAmount: BigInt(i * 1_000 + 1) }))
  const tree = buildCumulativeTree(leaves)
  const reference = StandardMerkleTree.of(leaves.map((l) => [l.device, l.cumulativeAmount]), ['address', 'uint256'])
  t.equal(tree.root, reference.root)
  for (const leaf of leaves) {
    const proof = tree.proof(leaf.device)
    t.equal(processProof(leafHash(leaf), proof), tree.root)
    t.ok(verifyCumulative(tree.root, leaf, proof))
    t.notOk(verifyCumulative(tree.root, { ...leaf, cumulativeAmount: leaf.cumulativeAmount + 1n }, proof), 'a raised total does not verify')
  }
  t.throws(() => tree.proof(device(999)), MerkleLeafNotFoundError)
})

t.test('bad input gets a typed error naming the field', async (t) => {
  t.throws(() => buildCumulativeTree([]), InvalidArgumentError)
  t.throws(() => buildCumulativeTree([{ device: device(1), cumulativeAmount: 1n }, { device: device(1), cumulativeAmount: 2n }]), { name: 'InvalidArgumentError', message: /leaves\.1\.device/ })
  t.throws(() => buildCumulativeTree([{ device: device(1), cumulativeAmount: -1n }]), { message: /leaves\.0\.cumulativeAmount/ })
  t.throws(() => accumulateRewards([], [{ device: device(1), reward: -1n }]), { message: /rewards\.0\.reward/ })
  t.throws(() => accumulateRewards([], [{ device: '0x12' as Address, reward: 1n }]), { message: /rewards\.0\.device/ })
  t.throws(() => accumulateRewards([{ device: device(1), cumulativeAmount: 2n ** 256n - 1n }], [{ device: device(1), reward: 1n }]), { message: /overflows/ })
  t.throws(() => verifyCumulative('0x01', { device: device(1), cumulativeAmount: 1n }, []), { message: /root/ })
})

t.test('no leaves: a root no leaf hashes to', async (t) => {
  t.equal(cumulativeRootOf([]), EMPTY_CUMULATIVE_ROOT)
  const leaves = [{ device: device(1), cumulativeAmount: 5n }]
  t.equal(cumulativeRootOf(leaves), buildCumulativeTree(leaves).root)
  t.notOk(verifyCumulative(EMPTY_CUMULATIVE_ROOT, leaves[0] as CumulativeLeaf, []), 'nothing verifies against the empty root')
  t.same(accumulateRewards([], [{ device: device(1), reward: 0n }]), [], 'a zero reward makes no leaf')
})
