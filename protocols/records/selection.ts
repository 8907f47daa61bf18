// Participant selection, as a round's signed RoundAnnouncement commits to it: the seed, the rule
// and the chain block whose registered devices were eligible, and the root of the selected set.
// Anyone who reads the fleet's registry up to that block recomputes the same set (a seeded
// Fisher–Yates shuffle of the eligible devices in address order, the first k taken), and checks
// the root; a device checks whether it is in it.
import { encodeAbiParameters, getAddress, hexToBytes, keccak256, type Address, type Hex } from 'viem'
import { z } from 'zod'
import { InvalidArgumentError } from '../errors.js'
import { MAX_SELECTION_RULE_LENGTH } from '../constants.js'

/** A fraction of the eligible devices, at least `min`, at most `max` (and never more than are eligible). */
export interface SelectionRule {
  fraction: number
  min: number
  max: number
}

/** Most participants a rule may ask for. */
export const MAX_SELECTION_SIZE = 100_000

const ruleSchema = z.strictObject({
  fraction: z.number().gt(0).lte(1),
  min: z.number().int().min(1).max(MAX_SELECTION_SIZE),
  max: z.number().int().min(1).max(MAX_SELECTION_SIZE),
})

const byAddress = (a: Address, b: Address): number => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0)

/** The seed of round `round` trained from `baseModel`: keccak256(abi.encode(uint64 round, bytes32 baseModel)). */
export function selectionSeed(round: bigint, baseModel: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'uint64' }, { type: 'bytes32' }], [round, baseModel]))
}

/** The rule as announced: canonical JSON with its keys in order `fraction`, `max`, `min`. */
export function encodeSelectionRule(rule: SelectionRule): string {
  const parsed = ruleSchema.safeParse(rule)
  if (!parsed.success) throw new InvalidArgumentError(`selection.${parsed.error.issues[0]?.path.join('.') ?? ''}`, parsed.error.issues[0]?.message ?? 'invalid')
  return JSON.stringify({ fraction: rule.fraction, max: rule.max, min: rule.min })
}

/** Reads an announced rule back; InvalidArgumentError when it is not one encodeSelectionRule writes. */
export function parseSelectionRule(text: string): SelectionRule {
  if (text.length > MAX_SELECTION_RULE_LENGTH) throw new InvalidArgumentError('selectionRule', `is longer than ${MAX_SELECTION_RULE_LENGTH} characters`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new InvalidArgumentError('selectionRule', 'is not JSON')
  }
  const parsed = ruleSchema.safeParse(value)
  if (!parsed.success) throw new InvalidArgumentError('selectionRule', parsed.error.issues[0]?.message ?? 'invalid')
  if (encodeSelectionRule(parsed.data) !== text) throw new InvalidArgumentError('selectionRule', 'is not in canonical form')
  return parsed.data
}

export function participantCount(eligible: number, rule: SelectionRule): number {
  return Math.min(eligible, rule.max, Math.max(rule.min, Math.ceil(rule.fraction * eligible)))
}

/** The selected devices, ascending by address. Independent of the order (and duplicates) of `eligible`. */
export function selectParticipants(eligible: readonly Address[], seed: Hex, rule: SelectionRule): Address[] {
  const devices = [...new Set(eligible.map((d) => getAddress(d)))].sort(byAddress)
  let bytes = hexToBytes(seed)
  if (bytes.length !== 32) throw new InvalidArgumentError('seed', 'expected 32 bytes')
  let used = 0
  /** 32 random bits from the seed chain: keccak256 of the previous seed once its bytes run out. */
  const next = (): number => {
    if (used + 4 > bytes.length) {
      bytes = hexToBytes(keccak256(bytes))
      used = 0
    }
    const v = ((bytes[used] as number) << 24) | ((bytes[used + 1] as number) << 16) | ((bytes[used + 2] as number) << 8) | (bytes[used + 3] as number)
    used += 4
    return v >>> 0
  }
  for (let i = devices.length - 1; i > 0; i--) {
    const j = next() % (i + 1)
    const tmp = devices[i] as Address
    devices[i] = devices[j] as Address
    devices[j] = tmp
  }
  return devices.slice(0, participantCount(devices.length, rule)).sort(byAddress)
}

/** keccak256(abi.encode(address[])) of the selected devices in ascending order: the announced root. */
export function participantsRoot(participants: readonly Address[]): Hex {
  const sorted = [...new Set(participants.map((d) => getAddress(d)))].sort(byAddress)
  return keccak256(encodeAbiParameters([{ type: 'address[]' }], [sorted]))
}

export interface CheckSelectionParameters {
  /** The announcement's fields that commit to the selection. */
  announcement: { round: bigint; baseModel: Hex; selectionSeed: Hex; selectionRule: string; participantsRoot: Hex }
  /** The devices registered (and not revoked) at the announcement's `eligibleBlock`. */
  eligible: readonly Address[]
}

export type CheckSelectionReturnType = { ok: true; participants: Address[] } | { ok: false; problem: string; participants?: Address[] }

/** Recomputes a round's selection from its announcement and the eligible devices, and checks each commitment. */
export function checkSelection({ announcement: a, eligible }: CheckSelectionParameters): CheckSelectionReturnType {
  const seed = selectionSeed(a.round, a.baseModel)
  if (seed.toLowerCase() !== a.selectionSeed.toLowerCase()) return { ok: false, problem: `the seed is not keccak256(round, baseModel) = ${seed}` }
  let rule: SelectionRule
  try {
    rule = parseSelectionRule(a.selectionRule)
  } catch (err) {
    return { ok: false, problem: err instanceof Error ? err.message : String(err) }
  }
  const participants = selectParticipants(eligible, seed, rule)
  const root = participantsRoot(participants)
  if (root.toLowerCase() !== a.participantsRoot.toLowerCase())
    return { ok: false, problem: `the ${participants.length} devices the rule selects from ${eligible.length} eligible have root ${root}, not the announced ${a.participantsRoot}`, participants }
  return { ok: true, participants }
}
