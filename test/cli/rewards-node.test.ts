// `cw rewards claim` and `cw audit round --fleet` against a separately started `hardhat node` on 127.0.0.1.
import t from 'tap'
import { cliChainSuite } from '../gateway/settlement/helpers/cli-suite.js'

// About twenty runs of the cw process, each loading the whole CLI: more than the default allowance on a busy machine.
t.setTimeout(600_000)

await cliChainSuite(t, 'node')
