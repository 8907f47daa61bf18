// A device's privacy ledger: the rounds it took part in under DP, grouped by their announced
// (sample rate, noise multiplier). RDP composes by addition, so the ledger is all the accountant
// needs, and it is small enough to publish in the round record for anyone to recompute ε.
import { InvalidArgumentError } from '../errors.js'
import { MAX_LEDGER_ENTRIES, MAX_LEDGER_ROUNDS, RDP_ORDERS } from './constants.js'
import { epsilonFromRdp } from './epsilon.js'
import { computeRdp } from './rdp.js'

export interface LedgerEntry {
  sampleRate: number
  noiseMultiplier: number
  rounds: number
}

export type PrivacyLedger = readonly LedgerEntry[]

/** The ledger with one more round at (sampleRate, noiseMultiplier); the input is not changed. */
export function addRound(ledger: PrivacyLedger, spend: { sampleRate: number; noiseMultiplier: number }): LedgerEntry[] {
  const out = ledger.map((e) => ({ ...e }))
  const same = out.find((e) => e.sampleRate === spend.sampleRate && e.noiseMultiplier === spend.noiseMultiplier)
  if (same !== undefined) same.rounds += 1
  else out.push({ sampleRate: spend.sampleRate, noiseMultiplier: spend.noiseMultiplier, rounds: 1 })
  checkLedger(out)
  return out
}

/** Throws InvalidArgumentError naming the entry that is out of range. */
export function checkLedger(ledger: PrivacyLedger): void {
  if (ledger.length > MAX_LEDGER_ENTRIES) throw new InvalidArgumentError('ledger', `more than ${MAX_LEDGER_ENTRIES} entries`)
  ledger.forEach((e, i) => {
    if (!(e.sampleRate > 0 && e.sampleRate <= 1)) throw new InvalidArgumentError(`ledger.${i}.sampleRate`, 'must be in (0, 1]')
    if (!(e.noiseMultiplier > 0) || !Number.isFinite(e.noiseMultiplier)) throw new InvalidArgumentError(`ledger.${i}.noiseMultiplier`, 'must be a finite number > 0')
    if (!Number.isSafeInteger(e.rounds) || e.rounds < 1 || e.rounds > MAX_LEDGER_ROUNDS) throw new InvalidArgumentError(`ledger.${i}.rounds`, `must be an integer in 1..${MAX_LEDGER_ROUNDS}`)
  })
}

/** The composed RDP curve of a ledger at RDP_ORDERS. */
export function ledgerRdp(ledger: PrivacyLedger): number[] {
  checkLedger(ledger)
  const total: number[] = RDP_ORDERS.map(() => 0)
  for (const e of ledger) {
    const rdp = computeRdp({ sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier, steps: e.rounds })
    rdp.forEach((r, i) => (total[i] = (total[i] as number) + r))
  }
  return total
}

/** ε at δ of everything in the ledger (0 for an empty one). */
export function ledgerEpsilon(ledger: PrivacyLedger, delta: number): number {
  if (ledger.length === 0) return 0
  return epsilonFromRdp({ rdp: ledgerRdp(ledger), delta }).epsilon
}

/** A device's ledger after one more DP round, and its ε then at the round's δ (what a round record states). */
export function contributionPrivacy(before: PrivacyLedger, round: { sampleRate: number; noiseMultiplier: number; delta: number }): { ledger: LedgerEntry[]; epsilon: number } {
  const ledger = addRound(before, round)
  return { ledger, epsilon: ledgerEpsilon(ledger, round.delta) }
}
