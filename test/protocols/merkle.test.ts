import t from 'tap'
import fc from 'fast-check'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { concat, encodeAbiParameters, keccak256, type Hex } from 'viem'
import {
  InvalidArgumentError,
  MerkleLeafNotFoundError,
  buildContributionTree,
  verifyContribution,
  type ContributionLeaf,
} from '../../protocols/index.js'
import { address, bytes32 } from '../helpers/arbitraries.js'

const leafArb = (round: bigint) =>
  fc.record({ round: fc.constant(round), device: address(), attestationHash: bytes32(), score: fc.bigInt({ min: 0n, max: 2n ** 128n }) })
const leavesArb = fc
  .bigInt({ min: 0n, max: 2n ** 64n - 1n })
  .chain((round) => fc.uniqueArray(leafArb(round), { minLength: 1, maxLength: 40, selector: (l) => l.device.toLowerCase() }))

/** Independent check with viem: OpenZeppelin's leaf is keccak(keccak(abi.encode(...))), pairs are hashed sorted. */
const leafHash = (l: ContributionLeaf): Hex =>
  keccak256(keccak256(encodeAbiParameters([{ type: 'uint64' }, { type: 'address' }, { type: 'bytes32' }, { type: 'uint256' }], [l.round, l.device, l.attestationHash, l.score])))
const processProof = (leaf: Hex, proof: readonly Hex[]): Hex =>
  proof.reduce<Hex>((acc, p) => keccak256(acc.toLowerCase() < p.toLowerCase() ? concat([acc, p]) : concat([p, acc])), leaf)

t.test('root and proofs equal those of @openzeppelin/merkle-tree, and verify independently', async (t) => {
  let trees = 0
  fc.assert(
    fc.property(leavesArb, (leaves) => {
      trees++
      const tree = buildContributionTree(leaves)
      const reference = StandardMerkleTree.of(
        leaves.map((l) => [l.round, l.device, l.attestationHash, l.score]),
        ['uint64', 'address', 'bytes32', 'uint256'],
      )
      if (tree.root !== reference.root) return false
      return leaves.every((leaf, i) => {
        const proof = tree.proof(leaf.device)
        return (
          JSON.stringify(proof) === JSON.stringify(reference.getProof(i)) &&
          processProof(leafHash(leaf), proof) === tree.root &&
          verifyContribution(tree.root, leaf, proof)
        )
      })
    }),
    { numRuns: 100 },
  )
  t.equal(trees, 100, '100 random trees agree')
})

t.test('wrong leaves and proofs do not verify', async (t) => {
  const [leaves] = fc.sample(leavesArb.filter((l) => l.length >= 3), { numRuns: 1, seed: 3 })
  if (leaves === undefined) throw new Error('no sample')
  const tree = buildContributionTree(leaves)
  const leaf = leaves[1] as ContributionLeaf
  const proof = tree.proof(leaf.device)
  t.ok(verifyContribution(tree.root, leaf, proof))
  t.notOk(verifyContribution(tree.root, { ...leaf, score: leaf.score + 1n }, proof), 'a higher score')
  t.notOk(verifyContribution(tree.root, { ...leaf, round: leaf.round === 0n ? 1n : leaf.round - 1n }, proof), 'another round')
  t.notOk(verifyContribution(tree.root, leaves[0] as ContributionLeaf, proof), "another device's proof")
  t.notOk(verifyContribution(tree.root, leaf, proof.slice(1)), 'a shortened proof')
  t.ok(tree.dump().format === 'standard-v1', 'dumps in the standard format')
  t.throws(() => tree.proof('0x000000000000000000000000000000000000dead'), MerkleLeafNotFoundError)
})

t.test('malformed leaves throw typed errors naming the field', async (t) => {
  const good: ContributionLeaf = { round: 1n, device: '0x000000000000000000000000000000000000dEaD', attestationHash: `0x${'11'.repeat(32)}`, score: 5n }
  t.throws(() => buildContributionTree([]), InvalidArgumentError)
  t.throws(() => buildContributionTree([{ ...good, score: -1n }]), { code: 'CW_INVALID_ARGUMENT', details: { field: 'leaves.0.score' } })
  t.throws(() => buildContributionTree([good, { ...good, round: 2n ** 64n }]), { code: 'CW_INVALID_ARGUMENT', details: { field: 'leaves.1.round' } })
  t.throws(() => buildContributionTree([{ ...good, attestationHash: '0x11' }]), { code: 'CW_INVALID_ARGUMENT', details: { field: 'leaves.0.attestationHash' } })
  t.throws(() => buildContributionTree([good, good]), { code: 'CW_INVALID_ARGUMENT', details: { field: 'leaves.1.device' } }, 'a device twice')
  t.throws(() => verifyContribution('0x12', good, []), { code: 'CW_INVALID_ARGUMENT', details: { field: 'root' } })
  t.throws(() => verifyContribution(`0x${'00'.repeat(32)}`, good, ['0x1']), { code: 'CW_INVALID_ARGUMENT', details: { field: 'proof.0' } })
})
