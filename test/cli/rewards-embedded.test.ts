// `cw rewards claim` and `cw audit round --fleet` against the embedded EVM, served over JSON-RPC on 127.0.0.1.
import t from 'tap'
import { cliChainSuite } from '../gateway/settlement/helpers/cli-suite.js'

await cliChainSuite(t, 'embedded')
