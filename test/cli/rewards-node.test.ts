// `cw rewards claim` and `cw audit round --fleet` against a separately started `hardhat node` on 127.0.0.1.
import t from 'tap'
import { cliChainSuite } from '../gateway/settlement/helpers/cli-suite.js'

await cliChainSuite(t, 'node')
