// Deterministic participant selection: anyone holding the eligible list, the round and the base
// model recomputes the same set. A seeded Fisher–Yates shuffle (seed = keccak256(round, base
// model)) orders the devices, and the first k are taken.
import { encodeAbiParameters, getAddress, hexToBytes, keccak256, type Address, type Hex } from 'viem'
import type { RoundConfig } from './round-config.js'

export function participantCount(eligible: number, selection: RoundConfig['selection']): number {
  return Math.min(eligible, selection.max, Math.max(selection.min, Math.ceil(selection.fraction * eligible)))
}

export function selectParticipants(eligible: readonly Address[], round: bigint, baseModel: Hex, selection: RoundConfig['selection']): Address[] {
  const devices = [...new Set(eligible.map((d) => getAddress(d)))].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1))
  let seed = hexToBytes(keccak256(encodeAbiParameters([{ type: 'uint64' }, { type: 'bytes32' }], [round, baseModel])))
  let used = 0
  /** 32 random bits from the seed chain: keccak256 of the previous seed once its bytes run out. */
  const next = (): number => {
    if (used + 4 > seed.length) {
      seed = hexToBytes(keccak256(seed))
      used = 0
    }
    const v = ((seed[used] as number) << 24) | ((seed[used + 1] as number) << 16) | ((seed[used + 2] as number) << 8) | (seed[used + 3] as number)
    used += 4
    return v >>> 0
  }
  for (let i = devices.length - 1; i > 0; i--) {
    const j = next() % (i + 1)
    const tmp = devices[i] as Address
    devices[i] = devices[j] as Address
    devices[j] = tmp
  }
  return devices.slice(0, participantCount(devices.length, selection)).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1))
}
