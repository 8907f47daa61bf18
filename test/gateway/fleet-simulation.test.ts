// Fleet simulation (issue 6): an in-process fleet of 20 devices on digits split non-IID (Dirichlet
// α = 0.5, fixed seed). FedAvg reaches ≥ 93 % test accuracy within 30 rounds; with 20 % attackers
// sending sign-flipped updates scaled by 10, FedAvg collapses, and the sample-weighted
// coordinate-wise median, the sample-weighted trimmed mean and Krum (Multi-Krum, m = n − f) each
// stay within 3 points of the clean run. The unweighted median and trimmed mean (Yin et al.'s
// definition, one vote per device) are run too, for the table: on this split, where devices hold
// very different amounts of data, they defeat the attack but settle a few points lower
// (docs/scoring.md, "Robust strategies"). The weighted rules count samples, not devices: here the
// four attackers hold about 10 % of the samples, so the table also shows them claiming the largest
// honest sample count each (within any verifier range that admits the honest devices).
import t from 'tap'
import { CoordinateMedian, FedAvg, Krum, TrimmedMean, type Strategy } from '../../protocols/index.js'
import { digitsFleet, runFleet } from '../helpers/fleet-simulation.js'

// Seven simulated fleets of 30 rounds each (nine with CW_FLEET_SIM_ALL=1): about two minutes on an idle two-core machine, more on a
// busy one, so this file asks the runner for more than its default time-out.
t.setTimeout(15 * 60_000)

const DEVICES = 20
const ROUNDS = 30
const TARGET = 0.93
const MAX_GAP_POINTS = 3
const fleet = digitsFleet(DEVICES, 0.5, 42)
const attackers = new Set([0, 5, 10, 15]) // 20 %
const f = attackers.size
const local = { localEpochs: 5, lr: 0.1 }
const final = (history: number[]) => history.at(-1) ?? 0
const pct = (a: number) => `${(a * 100).toFixed(1)} %`
const table: string[] = []

t.ok(fleet.shards.every((s) => s.count > 0), 'every device holds samples')
t.ok(fleet.shards.some((s) => new Set(s.labels).size < 10), 'the split is non-IID: some devices lack classes')

const clean = await runFleet(fleet, { rounds: ROUNDS, strategy: new FedAvg(), ...local })
const reached = clean.findIndex((a) => a >= TARGET)
t.ok(reached >= 0 && reached < ROUNDS, `FedAvg reaches ≥ 93 % at round ${reached + 1} (≤ ${ROUNDS}); ${pct(final(clean))} after ${ROUNDS}`)
table.push(`| FedAvg | clean | ${pct(final(clean))} |`)

const attacked = await runFleet(fleet, { rounds: ROUNDS, strategy: new FedAvg(), attackers, ...local })
t.ok(final(attacked) < final(clean) - 0.1, `FedAvg under attack degrades: ${pct(final(attacked))}`)
table.push(`| FedAvg | 20 % attackers | ${pct(final(attacked))} |`)

const largest = Math.max(...fleet.shards.map((s) => s.count))
const total = fleet.shards.reduce((sum, s) => sum + s.count, 0)
const attackerShare = [...attackers].reduce((sum, i) => sum + (fleet.shards[i]?.count ?? 0), 0) / total
const inflatedShare = (f * largest) / (total - attackerShare * total + f * largest)
t.comment(`attackers hold ${pct(attackerShare)} of the samples; claiming ${largest} each, ${pct(inflatedShare)}`)

// [name, strategy, held to the 3-point bound, sample count attackers claim]
const robust: [string, Strategy, boolean, number?][] = [
  ['coordinate-wise median, sample-weighted', new CoordinateMedian({ weighted: true }), true],
  ['trimmed mean (20 % of the weight each end), sample-weighted', new TrimmedMean({ trim: 0.2, weighted: true }), true],
  [`Krum (Multi-Krum, f = ${f}, m = ${DEVICES - f})`, new Krum({ byzantine: f, select: DEVICES - f }), true],
  ['coordinate-wise median, one vote per device', new CoordinateMedian(), false],
  ['trimmed mean (20 % each end), one vote per device', new TrimmedMean({ trim: 0.2 }), false],
]
// The stronger attack (inflated sample counts) asserts nothing; it is shown with CW_FLEET_SIM_ALL=1.
if (process.env.CW_FLEET_SIM_ALL === '1')
  robust.push(
    [`coordinate-wise median, sample-weighted, attackers claim ${largest} samples`, new CoordinateMedian({ weighted: true }), false, largest],
    [`trimmed mean (20 % of the weight each end), sample-weighted, attackers claim ${largest} samples`, new TrimmedMean({ trim: 0.2, weighted: true }), false, largest],
  )
for (const [name, strategy, bound, claimed] of robust) {
  const history = await runFleet(fleet, { rounds: ROUNDS, strategy, attackers, ...local, ...(claimed === undefined ? {} : { attackerSampleCount: claimed }) })
  const gap = (final(clean) - final(history)) * 100
  const line = `${name} under attack: ${pct(final(history))}, ${gap.toFixed(1)} points from the clean run`
  // Each must defeat the attack as specified; only the sample-weighted rules and Krum are held to
  // 3 points. Inflated sample counts are a stronger attack than the issue's, shown for comparison.
  if (claimed === undefined) t.ok(final(history) > final(attacked) + 0.5, `${name} defeats the attack`)
  if (bound) t.ok(gap <= MAX_GAP_POINTS, line)
  else t.comment(`${line} (for comparison)`)
  table.push(`| ${name} | 20 % attackers | ${pct(final(history))} |`)
}
t.comment([`| strategy | fleet | accuracy after ${ROUNDS} rounds |`, '|---|---|---|', ...table].join('\n'))
