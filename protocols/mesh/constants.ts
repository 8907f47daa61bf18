// Caps, time-outs and stream limits of the mesh (issue 5), sized for a 512 MB board: at most a
// few MiB buffered per stream, a handful of concurrent streams per peer.
import { MAX_MESSAGE_BYTES } from '../constants.js'

const KiB = 1024
const MiB = 1024 * KiB

/** Model/blob transfer: data frames of at most 1 MiB, so a resumed transfer loses ≤ 1 MiB. */
export const BLOB_CHUNK_BYTES = 1 * MiB
/** Largest round record fetched over /counterweight/record/1.0.0. */
export const MAX_RECORD_BYTES = 32 * MiB
/**
 * Bytes a receiver asks for at once. The sender sends no more until asked again, so a receiver
 * buffers at most one window whatever the muxer's flow control does.
 */
export const BLOB_WINDOW_BYTES = 4 * MiB
/** A blob request is exactly sha256 (32 bytes) ‖ offset (uint64 BE) ‖ length (uint32 BE, ≤ window). */
export const BLOB_REQUEST_BYTES = 32 + 8 + 4
/** A blob response header is a tag byte ‖ total size (uint64 big-endian). */
export const BLOB_HEADER_BYTES = 1 + 8

/** Error frames: a tag byte and a short UTF-8 JSON `{ code, message }`. */
export const MAX_ERROR_FRAME_BYTES = 1 * KiB
/** The update stream's single request frame: one encoded UpdateSubmission. */
export const MAX_UPDATE_REQUEST_BYTES = MAX_MESSAGE_BYTES.UpdateSubmission
/** The update stream's single response frame: a tag byte and a Receipt, or an error frame. */
export const MAX_UPDATE_RESPONSE_BYTES = 1 + Math.max(MAX_MESSAGE_BYTES.Receipt, MAX_ERROR_FRAME_BYTES)

/** Whole update exchange, request to receipt (a 32 MiB submission at ~1 MiB/s fits). */
export const UPDATE_TIMEOUT_MS = 60_000

/**
 * An update frame's header: the attestation and the certificate, which the canonical
 * UpdateSubmission encoding puts before the update (fields 1 and 2, then 3). The gateway reads
 * these first bytes, checks the certificate, the peer binding and the attestation signature, and
 * only then reads the update. Tags and varints included, a header fits in this many bytes.
 */
export const MAX_UPDATE_HEADER_BYTES = 4 * KiB
/** Time a stream has, from its opening, to deliver its header (a slow or silent peer is cut off sooner than UPDATE_TIMEOUT_MS). */
export const UPDATE_HEADER_TIMEOUT_MS = 10_000
/**
 * Bytes an update stream may hold at the gateway beyond what was reserved for it: before its peer
 * is verified, everything it sent; after, anything past its frame. The stream is paused while
 * nothing is being read, so an honest sender stops at the muxer's window (yamux: 256 KiB at first).
 */
export const MAX_UPDATE_STREAM_SLACK_BYTES = 1 * MiB
/**
 * Update streams whose peer is not verified yet (the header is being read or checked), across all
 * peers. When they are all taken, the oldest one is cut off for a newcomer: a header arrives in
 * one round trip, so only a stream that has been silent longest is evicted.
 */
export const MAX_UNVERIFIED_UPDATE_STREAMS = 64
/**
 * Unverified update streams of peers that proved their identity on an earlier stream, in a pool of
 * their own that unknown peers cannot evict: a flood of new peer ids does not reach an enrolled
 * device that has submitted before. MAX_KNOWN_UPDATE_PEERS such peers are remembered (least recently
 * seen forgotten first); being known changes only which slot a stream takes, never what is checked.
 */
export const MAX_KNOWN_PEER_UPDATE_STREAMS = 64
export const MAX_KNOWN_UPDATE_PEERS = 10_000
/** Update streams of verified peers being received or handled at once, across all peers. */
export const MAX_VERIFIED_UPDATE_STREAMS = 64
/** Bytes reserved for the updates of verified peers (the frames being read or handled), across all peers. */
export const MAX_UPDATE_BUFFERED_BYTES = 128 * MiB
/**
 * Submissions handed to the UpdateHandler at once. Verification decodes the update into float32
 * tensors, at most MAX_DECODED_UPDATE_BYTES each, so decoding holds at most this many of them.
 */
export const MAX_UPDATE_HANDLERS = 4
export const MAX_DECODED_UPDATE_BYTES = 32 * MiB
/** What a gateway at capacity tells a peer to wait before retrying (CW_MESH_BUSY). */
export const UPDATE_RETRY_AFTER_MS = 5_000
/** Longest retry-after an error frame may carry. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000
/** Time allowed for a blob request to arrive, and for each later data frame to move. */
export const BLOB_FRAME_TIMEOUT_MS = 30_000
/** Time a violator's error frame gets to flush before the stream is reset. */
export const ERROR_FLUSH_TIMEOUT_MS = 1_000

/** Concurrent inbound streams of one protocol from one peer that the handler serves. */
export const MAX_UPDATE_STREAMS_PER_PEER = 4
export const MAX_BLOB_STREAMS_PER_PEER = 4
/** Concurrent inbound blob streams served in total (each buffers up to one chunk). */
export const MAX_BLOB_STREAMS_TOTAL = 32
/** libp2p's own per-connection hard limit sits above ours so that ours can answer with a reason. */
export const LIBP2P_STREAM_LIMIT_MARGIN = 4

/** Connection limits for each role. */
export const MAX_CONNECTIONS = { agent: 64, gateway: 1024 } as const

/**
 * Gossip payloads are small signed messages (≤ 4 KiB); anything bigger is dropped before decoding.
 * Gossipsub would otherwise accept 4 MiB frames.
 */
export const GOSSIP_MAX_DATA_BYTES = 16 * KiB
/** A model availability message on the models topic: sha256 ‖ size (uint64 big-endian). */
export const MODEL_AVAILABILITY_BYTES = 32 + 8

/**
 * Peer score for invalid gossip (gossipsub v1.1 P4): each rejected message counts, squared, at
 * this weight, decaying by this factor per second (test/e2e/gossip-peer-score.test.ts measures it).
 */
export const GOSSIP_INVALID_MESSAGE_WEIGHT = -10
export const GOSSIP_INVALID_MESSAGE_DECAY = 0.9
/**
 * Gossipsub's IP colocation penalty (P6) is off: a fleet's boards share one LAN or NAT address,
 * and with the library default (−5 per peer past 10, squared) a gateway graylists every board
 * past the 13th from one address and stops hearing its subscriptions.
 */
export const GOSSIP_IP_COLOCATION_WEIGHT = 0
