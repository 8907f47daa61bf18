// Cumulative reward leaves: each round's tree holds one leaf per device that has ever earned,
// (device, cumulativeAmount), its total to date. A claim against any settled root pays
// cumulativeAmount minus what the device already took, however many rounds that spans, with one
// proof. Leaves are in OpenZeppelin's StandardMerkleTree encoding (double-hashed ABI-encoded
// leaves, sorted pairs) so a contract checks them with OpenZeppelin's MerkleProof.
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { getAddress, isAddressEqual, keccak256, stringToHex, type Address, type Hex } from 'viem'
import { InvalidArgumentError, MerkleLeafNotFoundError } from '../errors.js'
import { addressSchema, bytes32Schema } from '../eip712/schemas.js'

/** ABI types of a cumulative leaf, in order: (device, cumulativeAmount). */
export const CUMULATIVE_LEAF_ENCODING = ['address', 'uint256'] as const

const MAX_UINT256 = 2n ** 256n - 1n

/**
 * The root settled while no device has earned anything (a fleet whose rounds pay no reward yet):
 * keccak256 of a label, which no leaf hashes to, so nothing can be claimed against it.
 */
export const EMPTY_CUMULATIVE_ROOT: Hex = keccak256(stringToHex('counterweight: no cumulative rewards yet'))

/** The root of `leaves`' tree, or EMPTY_CUMULATIVE_ROOT when there are none. */
export function cumulativeRootOf(leaves: readonly CumulativeLeaf[]): Hex {
  return leaves.length === 0 ? EMPTY_CUMULATIVE_ROOT : buildCumulativeTree(leaves).root
}

export interface CumulativeLeaf {
  device: Address
  /** Everything the device has earned up to and including the round, in reward units. */
  cumulativeAmount: bigint
}

/** One round's per-device rewards, as scoring gave them. */
export interface RoundReward {
  device: Address
  reward: bigint
}

/**
 * The cumulative totals after a round: `previous` (the totals of the last settled round) plus the
 * round's rewards. Every device of `previous` keeps its leaf, so no total can go down. Devices are
 * returned in ascending address order, the order of round records.
 */
export function accumulateRewards(previous: readonly CumulativeLeaf[], rewards: readonly RoundReward[]): CumulativeLeaf[] {
  const totals = new Map<Address, bigint>()
  for (const [i, leaf] of previous.entries()) {
    if (!addressSchema.safeParse(leaf.device).success) throw new InvalidArgumentError(`previous.${i}.device`, 'expected a 20-byte address')
    if (leaf.cumulativeAmount < 0n || leaf.cumulativeAmount > MAX_UINT256) throw new InvalidArgumentError(`previous.${i}.cumulativeAmount`, 'expected a uint256')
    const device = getAddress(leaf.device)
    if (totals.has(device)) throw new InvalidArgumentError(`previous.${i}.device`, `device ${device} appears twice`)
    totals.set(device, leaf.cumulativeAmount)
  }
  const seen = new Set<Address>()
  for (const [i, r] of rewards.entries()) {
    if (!addressSchema.safeParse(r.device).success) throw new InvalidArgumentError(`rewards.${i}.device`, 'expected a 20-byte address')
    if (r.reward < 0n) throw new InvalidArgumentError(`rewards.${i}.reward`, 'a reward cannot be negative')
    const device = getAddress(r.device)
    if (seen.has(device)) throw new InvalidArgumentError(`rewards.${i}.device`, `device ${device} appears twice`)
    seen.add(device)
    const total = (totals.get(device) ?? 0n) + r.reward
    if (total > MAX_UINT256) throw new InvalidArgumentError(`rewards.${i}.reward`, `the cumulative total of ${device} overflows a uint256`)
    totals.set(device, total)
  }
  return [...totals.entries()]
    .filter(([, amount]) => amount > 0n)
    .map(([device, cumulativeAmount]) => ({ device, cumulativeAmount }))
    .sort((a, b) => (a.device.toLowerCase() < b.device.toLowerCase() ? -1 : 1))
}

/** A device whose total is lower in `next` than in `previous` (or missing from it): what an audit flags. */
export interface CumulativeDecrease {
  device: Address
  previous: bigint
  next: bigint
}

/** Every device whose cumulative total went down between two consecutive rounds' leaves. */
export function findCumulativeDecreases(previous: readonly CumulativeLeaf[], next: readonly CumulativeLeaf[]): CumulativeDecrease[] {
  const after = new Map(next.map((l) => [getAddress(l.device), l.cumulativeAmount]))
  return previous
    .map((l) => ({ device: getAddress(l.device), previous: l.cumulativeAmount, next: after.get(getAddress(l.device)) ?? 0n }))
    .filter((d) => d.next < d.previous)
}

export interface CumulativeTree {
  readonly root: Hex
  readonly leaves: readonly CumulativeLeaf[]
  /** The proof of `device`'s leaf; throws MerkleLeafNotFoundError when it has none. */
  proof(device: Address): Hex[]
}

/** Builds one round's tree of cumulative totals. A device may appear at most once. */
export function buildCumulativeTree(leaves: readonly CumulativeLeaf[]): CumulativeTree {
  if (leaves.length === 0) throw new InvalidArgumentError('leaves', 'a cumulative tree needs at least one leaf')
  const seen = new Set<string>()
  const tuples = leaves.map((l, i): [string, string] => {
    if (!addressSchema.safeParse(l.device).success) throw new InvalidArgumentError(`leaves.${i}.device`, 'expected a 20-byte address')
    if (l.cumulativeAmount < 0n || l.cumulativeAmount > MAX_UINT256) throw new InvalidArgumentError(`leaves.${i}.cumulativeAmount`, 'expected a uint256')
    const device = getAddress(l.device)
    if (seen.has(device)) throw new InvalidArgumentError(`leaves.${i}.device`, `device ${device} appears twice`)
    seen.add(device)
    return [device, l.cumulativeAmount.toString()]
  })
  const tree = StandardMerkleTree.of(tuples, [...CUMULATIVE_LEAF_ENCODING])
  return {
    root: tree.root as Hex,
    leaves: leaves.map((l) => ({ ...l })),
    proof(device: Address): Hex[] {
      const index = tuples.findIndex((t) => isAddressEqual(t[0] as Address, device))
      if (index < 0) throw new MerkleLeafNotFoundError(device)
      return tree.getProof(index) as Hex[]
    },
  }
}

/** True when `leaf` with `proof` hashes up to `root`. Malformed arguments throw; wrong proofs give false. */
export function verifyCumulative(root: Hex, leaf: CumulativeLeaf, proof: readonly Hex[]): boolean {
  if (!bytes32Schema.safeParse(root).success) throw new InvalidArgumentError('root', 'expected 32 bytes of 0x-prefixed hex')
  if (!addressSchema.safeParse(leaf.device).success) throw new InvalidArgumentError('leaf.device', 'expected a 20-byte address')
  if (leaf.cumulativeAmount < 0n || leaf.cumulativeAmount > MAX_UINT256) throw new InvalidArgumentError('leaf.cumulativeAmount', 'expected a uint256')
  for (const [i, p] of proof.entries())
    if (!bytes32Schema.safeParse(p).success) throw new InvalidArgumentError(`proof.${i}`, 'expected 32 bytes of 0x-prefixed hex')
  return StandardMerkleTree.verify(root, [...CUMULATIVE_LEAF_ENCODING], [getAddress(leaf.device), leaf.cumulativeAmount.toString()], [...proof])
}
