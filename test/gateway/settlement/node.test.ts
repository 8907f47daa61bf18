// The settlement suite against a separately started local JSON-RPC node (`hardhat node` on 127.0.0.1).
import t from 'tap'
import { settlementSuite } from './helpers/suite.js'

await settlementSuite(t, 'node')
