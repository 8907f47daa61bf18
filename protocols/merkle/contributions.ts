// The Merkle tree of a round's contributions, in OpenZeppelin's StandardMerkleTree format
// (double-hashed ABI-encoded leaves, sorted pairs), so the RoundLedger contract can check claims
// with OpenZeppelin's MerkleProof.
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { getAddress, isAddressEqual, type Address, type Hex } from 'viem'
import { z } from 'zod'
import { InvalidArgumentError, MerkleLeafNotFoundError } from '../errors.js'
import { addressSchema, bytes32Schema, fieldOf, uint64Schema } from '../eip712/schemas.js'

/** ABI types of a leaf, in order: (round, device, attestationHash, score). */
export const CONTRIBUTION_LEAF_ENCODING = ['uint64', 'address', 'bytes32', 'uint256'] as const

export interface ContributionLeaf {
  round: bigint
  device: Address
  /** EIP-712 digest of the device's UpdateAttestation. */
  attestationHash: Hex
  /** The contribution's score, in reward units. */
  score: bigint
}

const leafSchema = z.strictObject({
  round: uint64Schema,
  device: addressSchema,
  attestationHash: bytes32Schema,
  score: z.bigint().min(0n).max(2n ** 256n - 1n),
})

type LeafTuple = [string, string, string, string]

const toTuple = (leaf: ContributionLeaf, index: number): LeafTuple => {
  const result = leafSchema.safeParse(leaf)
  if (!result.success) {
    const { field, problem } = fieldOf(result.error, `leaves.${index}`)
    throw new InvalidArgumentError(field, problem)
  }
  const l = result.data
  return [l.round.toString(), getAddress(l.device), l.attestationHash.toLowerCase(), l.score.toString()]
}

export interface ContributionTree {
  readonly root: Hex
  readonly leaves: readonly ContributionLeaf[]
  /** The proof of `device`'s leaf; throws MerkleLeafNotFoundError when it has none. */
  proof(device: Address): Hex[]
  /** The JSON form of OpenZeppelin's `StandardMerkleTree.dump()`, for the round record. */
  dump(): ReturnType<StandardMerkleTree<LeafTuple>['dump']>
}

/** Builds the tree of one round's contributions. A device may appear at most once. */
export function buildContributionTree(leaves: readonly ContributionLeaf[]): ContributionTree {
  if (leaves.length === 0) throw new InvalidArgumentError('leaves', 'a contribution tree needs at least one leaf')
  const tuples = leaves.map(toTuple)
  const seen = new Set<string>()
  for (const [i, t] of tuples.entries()) {
    if (seen.has(t[1])) throw new InvalidArgumentError(`leaves.${i}.device`, `device ${t[1]} appears twice`)
    seen.add(t[1])
  }
  const tree = StandardMerkleTree.of(tuples, [...CONTRIBUTION_LEAF_ENCODING])
  return {
    root: tree.root as Hex,
    leaves: leaves.map((l) => ({ ...l })),
    proof(device: Address): Hex[] {
      const index = tuples.findIndex((t) => isAddressEqual(t[1] as Address, device))
      if (index < 0) throw new MerkleLeafNotFoundError(device)
      return tree.getProof(index) as Hex[]
    },
    dump: () => tree.dump(),
  }
}

/** True when `leaf` with `proof` hashes up to `root`. Malformed leaves throw; wrong proofs give false. */
export function verifyContribution(root: Hex, leaf: ContributionLeaf, proof: readonly Hex[]): boolean {
  const tuple = toTuple(leaf, 0)
  const r = bytes32Schema.safeParse(root)
  if (!r.success) throw new InvalidArgumentError('root', 'expected 32 bytes of 0x-prefixed hex')
  for (const [i, p] of proof.entries())
    if (!bytes32Schema.safeParse(p).success) throw new InvalidArgumentError(`proof.${i}`, 'expected 32 bytes of 0x-prefixed hex')
  return StandardMerkleTree.verify(root, [...CONTRIBUTION_LEAF_ENCODING], tuple, [...proof])
}
