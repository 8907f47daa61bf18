// fleet.json's reward leaves: files written before cumulative leaves read as per-round, and a
// cumulative fleet's contracts are one address.
import t from 'tap'
import { EIP712_DOMAIN_NAME, EIP712_DOMAIN_VERSION, parseFleetFile, type FleetFileInput } from '../../../protocols/index.js'

const A = '0x1111111111111111111111111111111111111111'
const B = '0x2222222222222222222222222222222222222222'
const C = '0x3333333333333333333333333333333333333333'
const file = (contracts: Partial<FleetFileInput['contracts']>): FleetFileInput => ({
  version: 1,
  fleet: `0x${'f1'.repeat(32)}`,
  name: 'test',
  chain: { chainId: 31337 },
  contracts: { registry: A, ledger: B, rewards: C, deployedAt: '0', ...contracts },
  owner: A,
  gateways: [],
  domain: { name: EIP712_DOMAIN_NAME, version: EIP712_DOMAIN_VERSION, chainId: 31337, verifyingContract: A },
})

t.equal(parseFleetFile(file({})).contracts.leaves, 'per-round', 'a file without leaves is a per-round fleet')
t.equal(parseFleetFile(file({ ledger: A, rewards: A, leaves: 'cumulative' })).contracts.leaves, 'cumulative')
t.throws(() => parseFleetFile(file({ leaves: 'cumulative' })), { code: 'CW_CONFIG', message: /contracts\.ledger/ }, 'a cumulative fleet with three addresses is refused, naming the field')
t.throws(() => parseFleetFile(file({ leaves: 'weekly' as 'cumulative' })), { code: 'CW_CONFIG', message: /contracts\.leaves/ })
