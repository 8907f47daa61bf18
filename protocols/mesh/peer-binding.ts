// Peer binding (ARCHITECTURE.md "Identity"): a device's DeviceCertificate, signed by the fleet
// owner, binds the device address to the libp2p peer id it speaks from. A gateway takes update
// streams only from the peer a valid certificate names.
import { isAddressEqual, type Address, type Hex } from 'viem'
import { PeerNotBoundError } from '../errors.js'
import type { FleetDomain } from '../eip712/domain.js'
import { verifyDeviceCertificate } from '../eip712/messages.js'
import type { Signed } from '../eip712/schemas.js'

export interface CheckPeerBindingParameters {
  certificate: Signed<'DeviceCertificate'>
  /** The libp2p peer id of the connection the certificate arrived on. */
  peerId: string
  /** The device the accompanying message claims to come from. */
  device: Address
  fleet: Hex
  domain: FleetDomain
  /** The fleet owner, who signs certificates. */
  owner: Address
  /** Unix seconds. */
  now: bigint
}

/** Throws PeerNotBoundError naming the first check that fails. */
export function checkPeerBinding({ certificate, peerId, device, fleet, domain, owner, now }: CheckPeerBindingParameters): void {
  const cert = certificate.message
  if (cert.peerId !== peerId) throw new PeerNotBoundError(peerId, `the certificate binds peer ${cert.peerId}`, { details: { reason: 'peer-id' } })
  if (cert.fleet.toLowerCase() !== fleet.toLowerCase())
    throw new PeerNotBoundError(peerId, `the certificate is for fleet ${cert.fleet}`, { details: { reason: 'fleet' } })
  if (!isAddressEqual(cert.device, device))
    throw new PeerNotBoundError(peerId, `the certificate is for device ${cert.device}, not ${device}`, { details: { reason: 'device' } })
  if (now < cert.validFrom || now > cert.validUntil)
    throw new PeerNotBoundError(peerId, 'the certificate is not valid now', { details: { reason: 'validity' } })
  if (!verifyDeviceCertificate({ domain, message: cert, signature: certificate.signature, signer: owner }))
    throw new PeerNotBoundError(peerId, 'the certificate is not signed by the fleet owner', { details: { reason: 'signature' } })
}
