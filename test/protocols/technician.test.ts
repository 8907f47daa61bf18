// TechnicianGrant and ConsoleLogin: digests agree with a second EIP-712 implementation (ethers),
// signatures verify only for the right signer and message, bad input names its field.
import t from 'tap'
import { TypedDataEncoder } from 'ethers'
import { keccak256, toHex } from 'viem'
import {
  InvalidArgumentError,
  SignerMismatchError,
  TECHNICIAN_TYPES,
  createMemorySigner,
  fleetDomain,
  hashConsoleLogin,
  hashTechnicianGrant,
  oneTimeCode,
  parseTechnicianGrant,
  signConsoleLogin,
  signTechnicianGrant,
  verifyConsoleLogin,
  verifyTechnicianGrant,
  type TechnicianGrant,
} from '../../protocols/index.js'

const domain = fleetDomain({ chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' })
const owner = createMemorySigner({ privateKey: `0x${'01'.repeat(32)}` })
const technician = createMemorySigner({ privateKey: `0x${'03'.repeat(32)}` })
const device = createMemorySigner({ privateKey: `0x${'02'.repeat(32)}` })
const grant: TechnicianGrant = {
  technician: technician.address,
  fleet: keccak256(toHex('fleet')),
  devices: ['*', device.address],
  commands: ['read', 'config'],
  validFrom: 1_700_000_000n,
  validUntil: 1_700_028_800n,
}

t.test('digests match ethers', async (t) => {
  const types = (kind: keyof typeof TECHNICIAN_TYPES) => ({ [kind]: TECHNICIAN_TYPES[kind].map((f) => ({ ...f })) })
  t.equal(hashTechnicianGrant(domain, grant), TypedDataEncoder.hash(domain, types('TechnicianGrant'), grant))
  const login = { technician: technician.address, device: device.address, challenge: keccak256(toHex('nonce')), grant: hashTechnicianGrant(domain, grant) }
  t.equal(hashConsoleLogin(domain, login), TypedDataEncoder.hash(domain, types('ConsoleLogin'), login))
})

t.test('grant and login signatures', async (t) => {
  const signed = await signTechnicianGrant(domain, grant, owner)
  t.ok(verifyTechnicianGrant(domain, signed, owner.address))
  t.notOk(verifyTechnicianGrant(domain, signed, technician.address), 'not the owner')
  t.notOk(verifyTechnicianGrant(domain, { ...signed, grant: { ...grant, commands: ['*'] } }, owner.address), 'a widened grant')
  const login = { technician: technician.address, device: device.address, challenge: keccak256(toHex('nonce')), grant: hashTechnicianGrant(domain, grant) }
  const signature = await signConsoleLogin(domain, login, technician)
  t.ok(verifyConsoleLogin(domain, login, signature))
  t.notOk(verifyConsoleLogin(domain, { ...login, challenge: keccak256(toHex('another')) }, signature), 'another challenge')
  t.notOk(verifyConsoleLogin(domain, { ...login, device: owner.address }, signature), 'another device')
  await t.rejects(signConsoleLogin(domain, login, owner), SignerMismatchError)
  t.match(oneTimeCode(signature), /^[0-9A-F]{10}$/)
  t.not(oneTimeCode(signature), oneTimeCode(await signConsoleLogin(domain, { ...login, challenge: keccak256(toHex('x')) }, technician)))
})

t.test('bad grants name the field', async (t) => {
  t.throws(() => parseTechnicianGrant({ ...grant, devices: ['everyone'] }), InvalidArgumentError)
  t.throws(() => parseTechnicianGrant({ ...grant, devices: [] }), { message: /grant\.devices/ })
  t.throws(() => parseTechnicianGrant({ ...grant, commands: [''] }), { message: /grant\.commands\.0/ })
  t.throws(() => parseTechnicianGrant({ ...grant, validUntil: -1n }), { message: /grant\.validUntil/ })
  t.throws(() => parseTechnicianGrant({ ...grant, extra: 1 }), InvalidArgumentError)
})
