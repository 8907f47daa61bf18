// The RewardLedger (cumulative leaves) suite against the embedded in-process EVM.
import t from 'tap'
import { cumulativeSuite } from './helpers/cumulative-suite.js'

await cumulativeSuite(t, 'embedded')
