// An owner-set sample bound travels in the device's certificate, signed: issueDeviceCertificate
// writes it as `max-samples:<n>`, and certifiedMaxSamples (what gateways and auditors read) finds it.
import t from 'tap'
import { keccak256, toHex } from 'viem'
import { certifiedMaxSamples, createMemorySigner, verifyDeviceCertificate, type FleetFile } from '../../protocols/index.js'
import { issueDeviceCertificate } from '../../provisioning/certificates.js'
import { PROFILE } from './helpers.js'

const owner = createMemorySigner()
const fleet = {
  fleet: keccak256(toHex('sample bound')),
  owner: owner.address,
  domain: { name: 'Counterweight', version: '1', chainId: 31337, verifyingContract: '0x00000000000000000000000000000000000000c0' },
} as unknown as FleetFile // issueDeviceCertificate reads only these three fields
const device = { address: createMemorySigner().address, peerId: '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf', serial: 'S-1', keyStorage: 'memory', hardware: PROFILE }

t.test('the bound is certified and read back', async (t) => {
  const { certificate } = await issueDeviceCertificate({ fleet, owner, device, validFrom: 0, validUntil: 10, maxSamples: 5000 })
  t.equal(certifiedMaxSamples(certificate.message), 5000n)
  t.ok(certificate.message.capabilities.includes('max-samples:5000'))
  t.ok(verifyDeviceCertificate({ domain: fleet.domain, message: certificate.message, signature: certificate.signature, signer: owner.address }), 'signed by the owner with it')
  const plain = await issueDeviceCertificate({ fleet, owner, device, validFrom: 0, validUntil: 10 })
  t.equal(certifiedMaxSamples(plain.certificate.message), undefined, 'no bound unless the owner sets one')
  await t.rejects(issueDeviceCertificate({ fleet, owner, device, validFrom: 0, validUntil: 10, maxSamples: 0 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'maxSamples' } })
})
