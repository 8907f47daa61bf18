// The data owner's privacy policy (device.json `privacy`) and the budget check an agent runs on
// every announced round before it trains: the round must announce DP it accepts, and the ε it
// would have spent after the round, at the owner's δ, must stay within the owner's maximum.
import { z } from 'zod'
import { MAX_DELTA, MAX_EPSILON, MAX_NOISE_MULTIPLIER, MIN_DELTA } from './constants.js'
import { addRound, ledgerEpsilon, type LedgerEntry, type PrivacyLedger } from './ledger.js'
import type { RoundPrivacy } from './round-privacy.js'

export const privacyPolicySchema = z.strictObject({
  maxEpsilon: z.number().gt(0).max(MAX_EPSILON).describe('total ε this device may spend over every DP round it takes part in'),
  delta: z.number().min(MIN_DELTA).max(MAX_DELTA).describe('the δ at which ε is measured'),
  minNoiseMultiplier: z.number().gt(0).max(MAX_NOISE_MULTIPLIER).describe('the lowest noise multiplier σ a round may announce'),
  acceptCentral: z.boolean().default(false).describe('take part in central-DP rounds, where the gateway sees the clean update and adds the noise'),
})

export type PrivacyPolicy = z.infer<typeof privacyPolicySchema>

export type PrivacyRefusalReason = 'privacy-not-announced' | 'privacy-central-refused' | 'privacy-noise-too-low' | 'privacy-budget-exceeded'

export type CheckPrivacyBudgetReturnType =
  | { ok: true; epsilonBefore: number; epsilonAfter: number; ledger: LedgerEntry[] }
  | { ok: false; reason: PrivacyRefusalReason; detail: string; epsilonBefore: number; epsilonAfter?: number }

export interface CheckPrivacyBudgetParameters {
  policy: PrivacyPolicy
  ledger: PrivacyLedger
  /** The round's announced DP parameters; undefined when it announces none. */
  privacy: RoundPrivacy | undefined
}

export function checkPrivacyBudget({ policy, ledger, privacy }: CheckPrivacyBudgetParameters): CheckPrivacyBudgetReturnType {
  const epsilonBefore = ledgerEpsilon(ledger, policy.delta)
  if (privacy === undefined) return { ok: false, reason: 'privacy-not-announced', detail: 'the round announces no differential privacy and this device requires it', epsilonBefore }
  if (privacy.mode === 'central' && !policy.acceptCentral)
    return { ok: false, reason: 'privacy-central-refused', detail: 'the round adds its noise at the gateway, which this device does not accept', epsilonBefore }
  if (privacy.noiseMultiplier < policy.minNoiseMultiplier)
    return { ok: false, reason: 'privacy-noise-too-low', detail: `noise multiplier ${privacy.noiseMultiplier} is below the accepted ${policy.minNoiseMultiplier}`, epsilonBefore }
  const next = addRound(ledger, { sampleRate: privacy.sampleRate, noiseMultiplier: privacy.noiseMultiplier })
  const epsilonAfter = ledgerEpsilon(next, policy.delta)
  if (epsilonAfter > policy.maxEpsilon)
    return {
      ok: false,
      reason: 'privacy-budget-exceeded',
      detail: `ε would reach ${epsilonAfter.toFixed(4)} at δ=${policy.delta}, over the budget of ${policy.maxEpsilon} (${epsilonBefore.toFixed(4)} spent)`,
      epsilonBefore,
      epsilonAfter,
    }
  return { ok: true, epsilonBefore, epsilonAfter, ledger: next }
}
