import type { Hex } from 'viem'
import { TOPIC_PREFIX, TOPIC_VERSION, type TopicKind } from './constants.js'
import { InvalidArgumentError } from './errors.js'
import { bytes32Schema } from './eip712/schemas.js'

const KINDS: readonly TopicKind[] = ['rounds', 'models', 'events']

/** The gossipsub topic of a fleet, e.g. `counterweight/0xab…/rounds/1`. */
export function fleetTopic(fleet: Hex, kind: TopicKind): string {
  if (!bytes32Schema.safeParse(fleet).success) throw new InvalidArgumentError('fleet', 'expected a 32-byte 0x-prefixed hex fleet id')
  if (!KINDS.includes(kind)) throw new InvalidArgumentError('kind', `expected one of ${KINDS.join(', ')}`)
  return `${TOPIC_PREFIX}/${fleet.toLowerCase()}/${kind}/${TOPIC_VERSION}`
}
