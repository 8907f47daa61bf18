// The RewardLedger (cumulative leaves) suite against a separately started `hardhat node` on 127.0.0.1.
import t from 'tap'
import { cumulativeSuite } from './helpers/cumulative-suite.js'

await cumulativeSuite(t, 'node')
