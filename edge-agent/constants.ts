// Constants of the edge agent's mesh client: where its transport key lives, how its outbox retries.

/** The libp2p transport key's file in the node's data directory (protobuf, as libp2p marshals keys). */
export const TRANSPORT_KEY_FILE = 'transport.key'
