// Contribution trees, settlements and signed submissions for the settlement tests.
import { keccak256, toHex, type Address, type Hex } from 'viem'
import type {
  createMemorySigner} from '../../../../protocols/index.js';
import {
  buildContributionTree,
  contentId,
  encodeUpdate,
  signMessage,
  type ContributionLeaf,
  type ContributionTree,
  type FleetDomain,
  type UpdateSubmission,
} from '../../../../protocols/index.js'
import type { RoundSettlement } from '../../../../gateway/settlement/index.js'

export const FLEET: Hex = `0x${'f1'.repeat(32)}`
export const hash = (label: string): Hex => keccak256(toHex(label))

export function treeFor(round: bigint, devices: readonly Address[], score = (i: number) => BigInt(1000 + i)): ContributionTree {
  const leaves: ContributionLeaf[] = devices.map((device, i) => ({ round, device, attestationHash: hash(`att-${round}-${i}`), score: score(i) }))
  return buildContributionTree(leaves)
}

export function settlementFor(round: bigint, tree: ContributionTree, over: Partial<RoundSettlement> = {}): RoundSettlement {
  return {
    fleet: FLEET,
    round,
    parentModel: hash(`model-${round - 1n}`),
    newModel: hash(`model-${round}`),
    contributionsRoot: tree.root,
    rewardTotal: tree.leaves.reduce((sum, l) => sum + l.score, 0n),
    recordHash: hash(`record-${round}`),
    ...over,
  }
}

export const NOW = 1_700_000_000
export const PEER_ID = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
export const BASE_MODEL: Hex = hash('base-model')

/** A well-formed, correctly signed submission of round 3 by `device`, certified by `owner`. */
export async function submissionFor(
  domain: FleetDomain,
  owner: ReturnType<typeof createMemorySigner>,
  device: ReturnType<typeof createMemorySigner>,
): Promise<UpdateSubmission> {
  const update = encodeUpdate([{ name: 'w', dtype: 'float32', shape: [2], data: Float32Array.from([0.1, -0.1]) }], { encoding: 'float32' })
  const certificate = await signMessage('DeviceCertificate', {
    domain,
    signer: owner,
    message: {
      device: device.address,
      peerId: PEER_ID,
      fleet: FLEET,
      hardwareModel: 'raspberrypi-5',
      keyStorage: 'memory',
      capabilities: [],
      validFrom: BigInt(NOW - 1000),
      validUntil: BigInt(NOW + 1000),
      serial: 'S1',
    },
  })
  const attestation = await signMessage('UpdateAttestation', {
    domain,
    signer: device,
    message: {
      fleet: FLEET,
      round: 3n,
      device: device.address,
      baseModel: BASE_MODEL,
      updateHash: contentId(update),
      sampleCount: 100n,
      metricsHash: `0x${'00'.repeat(32)}`,
      time: BigInt(NOW - 10),
    },
  })
  return { certificate, attestation, update }
}
