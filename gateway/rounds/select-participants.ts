// Deterministic participant selection (protocols/records/selection.ts): anyone holding the
// eligible list, the round and the base model recomputes the same set.
import type { Address, Hex } from 'viem'
import { participantCount as countFor, selectionSeed, selectParticipants as select } from '../../protocols/index.js'
import type { RoundConfig } from './round-config.js'

export function participantCount(eligible: number, selection: RoundConfig['selection']): number {
  return countFor(eligible, selection)
}

export function selectParticipants(eligible: readonly Address[], round: bigint, baseModel: Hex, selection: RoundConfig['selection']): Address[] {
  return select(eligible, selectionSeed(round, baseModel), selection)
}
