// The device's privacy budget: the owner's policy (device.json `agent.privacy`), the ledger of
// DP rounds this device released an update in, kept in `<dataDir>/privacy.json` (written
// atomically), and the check an announced round must pass before the agent trains for it. A
// round is spent when its noised update exists, before it is signed, so that a crash between the
// two counts it rather than forgets it.
import { readFile, rename } from 'node:fs/promises'
import type { Logger } from 'pino'
import { z } from 'zod'
import {
  addRound,
  checkPrivacyBudget,
  ledgerEpsilon,
  MAX_LEDGER_ENTRIES,
  type CheckPrivacyBudgetReturnType,
  type LedgerEntry,
  type PrivacyPolicy,
  type RoundPrivacy,
} from '../../protocols/privacy/index.js'
import { writeJsonConfig } from '../../hardware/bundle/index.js'
import { DEFAULT_STATUS_PRIVACY_DELTA, MAX_PRIVACY_ROUNDS_KEPT } from './constants.js'

const fileSchema = z.strictObject({
  version: z.literal(1),
  ledger: z
    .array(z.strictObject({ sampleRate: z.number().gt(0).lte(1), noiseMultiplier: z.number().gt(0), rounds: z.number().int().min(1) }))
    .max(MAX_LEDGER_ENTRIES),
  /** Rounds already counted (the latest MAX_PRIVACY_ROUNDS_KEPT): a round is spent once. */
  rounds: z.array(z.string().regex(/^\d{1,20}$/)).max(MAX_PRIVACY_ROUNDS_KEPT),
})

export interface PrivacyBudgetStatus {
  /** ε spent over every DP round counted, at `delta`. */
  epsilonSpent: number
  /** maxEpsilon − spent; null without a policy (no budget). */
  epsilonLeft: number | null
  maxEpsilon: number | null
  delta: number
  minNoiseMultiplier: number | null
  /** DP rounds counted. */
  rounds: number
}

export interface PrivacyBudgetComponents {
  file: string
  /** Absent: the device follows each round's announced DP and keeps count, with no limit. */
  policy: PrivacyPolicy | undefined
  logger: Logger
}

export class PrivacyBudget {
  readonly #c: PrivacyBudgetComponents
  readonly #log: Logger
  #ledger: LedgerEntry[] = []
  #rounds: string[] = []
  #writing: Promise<void> = Promise.resolve()

  private constructor(components: PrivacyBudgetComponents) {
    this.#c = components
    this.#log = components.logger.child({ component: 'agent:privacy' })
  }

  /**
   * Loads the ledger. A file that does not parse is moved aside and the ledger starts empty, but
   * with every round refused under a policy until the owner looks (an unknown spend is not zero).
   */
  static async open(components: PrivacyBudgetComponents): Promise<PrivacyBudget> {
    const budget = new PrivacyBudget(components)
    let text: string | undefined
    try {
      text = await readFile(components.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    if (text === undefined) return budget
    let parsed: z.infer<typeof fileSchema> | undefined
    try {
      const result = fileSchema.safeParse(JSON.parse(text))
      if (result.success) parsed = result.data
    } catch {
      parsed = undefined
    }
    if (parsed === undefined) {
      const aside = `${components.file}.corrupt`
      await rename(components.file, aside)
      budget.#log.error({ file: components.file, movedTo: aside }, 'privacy ledger does not parse; DP rounds are refused until it is restored')
      budget.#corrupt = true
      return budget
    }
    budget.#ledger = parsed.ledger
    budget.#rounds = parsed.rounds
    return budget
  }

  #corrupt = false

  get ledger(): readonly LedgerEntry[] {
    return this.#ledger
  }

  /** Whether the device may take part in a round announcing `privacy` (undefined: none). */
  check(round: bigint, privacy: RoundPrivacy | undefined): CheckPrivacyBudgetReturnType | { ok: true; unlimited: true } {
    const policy = this.#c.policy
    if (this.#corrupt && (policy !== undefined || privacy !== undefined))
      return { ok: false, reason: 'privacy-budget-exceeded', detail: `the privacy ledger ${this.#c.file} was unreadable: the spend so far is unknown`, epsilonBefore: Number.NaN }
    if (this.#rounds.includes(round.toString()) && privacy !== undefined) {
      // Already counted (a retry after a restart): checked as if not, so that it is not counted twice.
      return policy === undefined ? { ok: true, unlimited: true } : checkPrivacyBudget({ policy, ledger: this.#without(privacy), privacy })
    }
    if (policy === undefined) return { ok: true, unlimited: true }
    return checkPrivacyBudget({ policy, ledger: this.#ledger, privacy })
  }

  #without(privacy: RoundPrivacy): LedgerEntry[] {
    return this.#ledger.flatMap((e) => (e.sampleRate === privacy.sampleRate && e.noiseMultiplier === privacy.noiseMultiplier ? (e.rounds > 1 ? [{ ...e, rounds: e.rounds - 1 }] : []) : [{ ...e }]))
  }

  /** Counts `round` (once) and writes the ledger before the caller signs anything. */
  async spend(round: bigint, privacy: RoundPrivacy): Promise<void> {
    const key = round.toString()
    if (this.#rounds.includes(key)) return
    this.#ledger = addRound(this.#ledger, privacy)
    this.#rounds = [...this.#rounds, key].slice(-MAX_PRIVACY_ROUNDS_KEPT)
    const snapshot = { version: 1 as const, ledger: this.#ledger.map((e) => ({ ...e })), rounds: [...this.#rounds] }
    const write = this.#writing.then(() => writeJsonConfig(this.#c.file, snapshot))
    this.#writing = write.catch(() => undefined) // the caller of this spend sees its own failure
    await write
    const s = this.status()
    this.#log.info({ round: key, epsilonSpent: s.epsilonSpent, epsilonLeft: s.epsilonLeft, delta: s.delta }, 'privacy spent')
  }

  status(): PrivacyBudgetStatus {
    const policy = this.#c.policy
    const delta = policy?.delta ?? DEFAULT_STATUS_PRIVACY_DELTA
    const epsilonSpent = ledgerEpsilon(this.#ledger, delta)
    return {
      epsilonSpent,
      epsilonLeft: policy === undefined ? null : Math.max(0, policy.maxEpsilon - epsilonSpent),
      maxEpsilon: policy?.maxEpsilon ?? null,
      delta,
      minNoiseMultiplier: policy?.minNoiseMultiplier ?? null,
      rounds: this.#ledger.reduce((n, e) => n + e.rounds, 0),
    }
  }

  async flush(): Promise<void> {
    await this.#writing
  }
}

/** One line for `cw agent status` and the console: ε spent and left (status files from before DP have none). */
export function privacyText(s: PrivacyBudgetStatus | undefined): string {
  if (s === undefined) return 'no privacy ledger'
  const spent = `ε spent ${s.epsilonSpent.toFixed(3)} at δ=${s.delta} over ${s.rounds} DP round${s.rounds === 1 ? '' : 's'}`
  return s.maxEpsilon === null ? `${spent}, no budget set` : `${spent}, ${(s.epsilonLeft ?? 0).toFixed(3)} of ${s.maxEpsilon} left (σ ≥ ${s.minNoiseMultiplier})`
}
