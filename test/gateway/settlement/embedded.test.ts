// The settlement suite against the embedded in-process EVM (the default with no RPC URL).
import t from 'tap'
import { settlementSuite } from './helpers/suite.js'

await settlementSuite(t, 'embedded')
