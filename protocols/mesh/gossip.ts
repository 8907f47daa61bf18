// Gossipsub topics of a fleet and their validators. A message that does not decode strictly or
// whose signature fails is answered `Reject`, so gossipsub penalises the peer that forwarded it
// (peer score P4, gossipsub v1.1 spec "Invalid messages") and never forwards it.
import type { Message, TopicValidatorFn } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Logger } from 'pino'
import { bytesToHex, hexToBytes, type Address, type Hex } from 'viem'
import type { FleetDomain } from '../eip712/domain.js'
import { verifyInferenceAttestation, verifyRoundAnnouncement } from '../eip712/messages.js'
import { DecodeError } from '../errors.js'
import { fleetTopic } from '../topics.js'
import { decodeSigned } from '../wire/codec.js'
import { checkHash } from './blob-store.js'
import { MAX_MODEL_BYTES } from '../model/constants.js'
import { MODEL_AVAILABILITY_BYTES } from './constants.js'
import { readUint64, writeUint64 } from './frames.js'

/** "Peer `from` holds blob `hash` of `size` bytes": sent on the models topic; the sender is gossipsub's signed `from`. */
export interface ModelAvailability {
  hash: Hex
  size: number
}

export function encodeModelAvailability({ hash, size }: ModelAvailability): Uint8Array {
  const bytes = new Uint8Array(MODEL_AVAILABILITY_BYTES)
  bytes.set(hexToBytes(checkHash(hash)), 0)
  writeUint64(bytes, 32, size)
  return bytes
}

export function decodeModelAvailability(bytes: Uint8Array): ModelAvailability {
  const type = 'ModelAvailability'
  if (!(bytes instanceof Uint8Array) || bytes.length !== MODEL_AVAILABILITY_BYTES)
    throw new DecodeError(type, 'bytes', `expected exactly ${MODEL_AVAILABILITY_BYTES} bytes`)
  const size = readUint64(bytes, 32)
  if (size > BigInt(MAX_MODEL_BYTES)) throw new DecodeError(type, 'size', `above the model cap of ${MAX_MODEL_BYTES} bytes`)
  return { hash: bytesToHex(bytes.subarray(0, 32)), size: Number(size) }
}

export interface FleetTopics {
  rounds: string
  models: string
  events: string
}

export function fleetTopics(fleet: Hex): FleetTopics {
  return { rounds: fleetTopic(fleet, 'rounds'), models: fleetTopic(fleet, 'models'), events: fleetTopic(fleet, 'events') }
}

export interface TopicValidatorsParameters {
  fleet: Hex
  domain: FleetDomain
  /** True for a gateway address allowed to announce rounds (the registry hook of issue 6). */
  isAuthorisedGateway: (gateway: Address) => boolean
  logger: Logger
}

/** One validator per fleet topic, for gossipsub's `topicValidators`. */
export function topicValidators({ fleet, domain, isAuthorisedGateway, logger }: TopicValidatorsParameters): Map<string, TopicValidatorFn> {
  const topics = fleetTopics(fleet)
  const log = logger.child({ component: 'mesh:gossip' })
  const sameFleet = (value: Hex): boolean => value.toLowerCase() === fleet.toLowerCase()

  const guard = (topic: string, check: (data: Uint8Array) => boolean): TopicValidatorFn => (peer, message: Message) => {
    try {
      // Unsigned gossip is refused: the signed `from` is what names a model's holder.
      if (message.type !== 'signed' || !check(message.data)) throw new DecodeError(topic, 'message', 'refused')
      return TopicValidatorResult.Accept
    } catch (err) {
      log.debug({ peer: peer.toString(), topic, err: err instanceof Error ? err.message : String(err) }, 'gossip message rejected')
      return TopicValidatorResult.Reject
    }
  }

  return new Map([
    [
      topics.rounds,
      guard(topics.rounds, (data) => {
        const { message, signature } = decodeSigned('RoundAnnouncement', data)
        return sameFleet(message.fleet) && isAuthorisedGateway(message.gateway) && verifyRoundAnnouncement({ domain, message, signature })
      }),
    ],
    [topics.models, guard(topics.models, (data) => decodeModelAvailability(data).size >= 0)],
    [
      topics.events,
      guard(topics.events, (data) => {
        const { message, signature } = decodeSigned('InferenceAttestation', data)
        return sameFleet(message.fleet) && verifyInferenceAttestation({ domain, message, signature })
      }),
    ],
  ])
}
