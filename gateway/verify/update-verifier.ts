// The pipeline with its counters: every verdict is counted by outcome and reason.
import type { UpdateSubmission } from '../../protocols/index.js'
import { REJECTION_REASONS, type RejectionReason } from './reasons.js'
import { verifySubmission, type VerificationContext, type Verdict } from './verify-submission.js'

export interface VerifierStats {
  accepted: number
  rejected: Record<RejectionReason, number>
}

export class UpdateVerifier {
  #accepted = 0
  readonly #rejected = Object.fromEntries(REJECTION_REASONS.map((r) => [r, 0])) as Record<RejectionReason, number>

  constructor(readonly context: () => VerificationContext) {}

  async verify(submission: UpdateSubmission, remotePeer: string): Promise<Verdict> {
    const verdict = await verifySubmission(submission, remotePeer, this.context())
    if (verdict.accepted) this.#accepted++
    else this.#rejected[verdict.reason]++
    return verdict
  }

  stats(): VerifierStats {
    return { accepted: this.#accepted, rejected: { ...this.#rejected } }
  }
}
