// Unit tests of the mesh's framing helpers, the model-availability codec, gossip validators, peer
// binding and the stream limiter; test/e2e/mesh-*.test.ts runs the same code over real streams.
import t from 'tap'
import { Uint8ArrayList } from 'uint8arraylist'
import { keccak256, toHex, type Hex } from 'viem'
import { peerIdFromString } from '@libp2p/peer-id'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { MAX_MODEL_BYTES, createMemorySigner, encodeSigned, signDeviceCertificate, signRoundAnnouncement } from '../../../protocols/index.js'
import { BaseError, DecodeError, GatewayBusyError } from '../../../protocols/errors.js'
import {
  MAX_ERROR_FRAME_BYTES,
  StreamLimiter,
  checkPeerBinding,
  decodeLengthPrefix,
  decodeModelAvailability,
  encodeModelAvailability,
  errorFrame,
  fleetTopics,
  okFrame,
  parseResponse,
  topicValidators,
} from '../../../protocols/mesh/index.js'
import { logger, makeDevice, makeFleet } from './fleet-fixture.js'

const P = '/test/1.0.0'

t.test('response frames: ok, error with its code, and refusals of bad frames', async (t) => {
  t.same(parseResponse(P, okFrame(Uint8Array.from([7, 8]))), Uint8Array.from([7, 8]))
  t.throws(() => parseResponse(P, errorFrame(new DecodeError('X', 'f', 'bad'))), { code: 'CW_MESH_REMOTE', details: { remoteCode: 'CW_DECODE' } })
  const long = errorFrame(new BaseError('x'.repeat(10_000)))
  t.ok(long.length <= MAX_ERROR_FRAME_BYTES, 'a long message is cut to the cap')
  t.throws(() => parseResponse(P, long), { code: 'CW_MESH_REMOTE' })
  t.throws(() => parseResponse(P, Uint8Array.from([9])), { code: 'CW_MESH_PROTOCOL' }, 'unknown tag')
  t.throws(() => parseResponse(P, new Uint8Array(0)), { code: 'CW_MESH_PROTOCOL' }, 'empty frame')
  t.throws(() => parseResponse(P, Uint8Array.from([1, 0xff, 0xfe])), { code: 'CW_MESH_PROTOCOL' }, 'error frame not UTF-8')
  t.throws(() => parseResponse(P, Uint8Array.from([1, ...new TextEncoder().encode('{"code":"lower","message":""}')])), { code: 'CW_MESH_PROTOCOL' }, 'a code that is not a code')
})

t.test('a busy error frame carries retryAfterMs; a bad one is refused', async (t) => {
  t.throws(() => parseResponse(P, errorFrame(new GatewayBusyError(P, 'bytes', 5000))), { code: 'CW_MESH_REMOTE', details: { remoteCode: 'CW_MESH_BUSY', retryAfterMs: 5000 } })
  const frame = (body: string) => Uint8Array.from([1, ...new TextEncoder().encode(body)])
  t.throws(() => parseResponse(P, frame('{"code":"CW_MESH_BUSY","message":"","retryAfterMs":-1}')), { code: 'CW_MESH_PROTOCOL' }, 'a negative wait')
  t.throws(() => parseResponse(P, frame('{"code":"CW_MESH_BUSY","message":"","retryAfterMs":1e12}')), { code: 'CW_MESH_PROTOCOL' }, 'a wait past the cap')
  t.throws(() => parseResponse(P, frame('{"code":"CW_DECODE","message":"x"}')), { code: 'CW_MESH_REMOTE', details: { retryAfterMs: undefined } }, 'other frames carry none')
})

t.test('length prefixes: varint decoding gives up after 5 bytes', async (t) => {
  t.equal(decodeLengthPrefix(new Uint8ArrayList(Uint8Array.from([0xac, 0x02]))), 300)
  t.throws(() => decodeLengthPrefix(new Uint8ArrayList(Uint8Array.from([0x80]))), RangeError, 'incomplete: read more')
  t.throws(() => decodeLengthPrefix(new Uint8ArrayList(new Uint8Array(6).fill(0xff))), { name: 'InvalidDataLengthLengthError' })
})

t.test('model availability codec', async (t) => {
  const hash = keccak256(toHex('m'))
  t.same(decodeModelAvailability(encodeModelAvailability({ hash, size: 123 })), { hash, size: 123 })
  t.throws(() => decodeModelAvailability(new Uint8Array(39)), { code: 'CW_DECODE' })
  const big = encodeModelAvailability({ hash, size: 1 })
  new DataView(big.buffer).setBigUint64(32, BigInt(MAX_MODEL_BYTES) + 1n)
  t.throws(() => decodeModelAvailability(big), { code: 'CW_DECODE', details: { field: 'size' } })
})

t.test('gossip validators accept what verifies and reject the rest', async (t) => {
  const fleet = makeFleet()
  const topics = fleetTopics(fleet.fleet)
  const validators = topicValidators({ fleet: fleet.fleet, domain: fleet.domain, isAuthorisedGateway: (a) => a === fleet.gatewaySigner.address, logger })
  const peer = peerIdFromString('12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN')
  const signed = (topic: string, data: Uint8Array) => ({ type: 'signed' as const, from: peer, topic, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: undefined as never })
  const message = { fleet: fleet.fleet, round: 1n, gateway: fleet.gatewaySigner.address, baseModel: keccak256(toHex('b')), strategy: 'fedavg', params: '', deadline: 9n, selectionSeed: `0x${'5e'.repeat(32)}` as Hex, selectionRule: '{"fraction":1,"max":10000,"min":1}', eligibleBlock: 0n, participantsRoot: `0x${'9a'.repeat(32)}` as Hex, privacy: '' }
  const good = encodeSigned('RoundAnnouncement', await signRoundAnnouncement({ domain: fleet.domain, signer: fleet.gatewaySigner, message }))
  const stranger = createMemorySigner()
  const forged = encodeSigned('RoundAnnouncement', await signRoundAnnouncement({ domain: fleet.domain, signer: stranger, message: { ...message, gateway: stranger.address } }))
  const rounds = validators.get(topics.rounds)
  if (rounds === undefined) throw new Error('no rounds validator')
  t.equal(await rounds(peer, signed(topics.rounds, good)), TopicValidatorResult.Accept, 'a gateway announcement')
  t.equal(await rounds(peer, signed(topics.rounds, forged)), TopicValidatorResult.Reject, 'an unauthorised signer')
  t.equal(await rounds(peer, signed(topics.rounds, Uint8Array.from([1, 2]))), TopicValidatorResult.Reject, 'undecodable bytes')
  t.equal(await rounds(peer, { type: 'unsigned', topic: topics.rounds, data: good }), TopicValidatorResult.Reject, 'unsigned gossip')
  const models = validators.get(topics.models)
  t.equal(await models?.(peer, signed(topics.models, encodeModelAvailability({ hash: keccak256(toHex('m')), size: 5 }))), TopicValidatorResult.Accept)
  t.equal(await models?.(peer, signed(topics.models, new Uint8Array(3))), TopicValidatorResult.Reject)
  t.equal(await validators.get(topics.events)?.(peer, signed(topics.events, new Uint8Array(3))), TopicValidatorResult.Reject)
})

t.test('peer binding names what fails', async (t) => {
  const fleet = makeFleet()
  const device = await makeDevice(fleet)
  const base = { certificate: device.certificate, peerId: device.peerId, device: device.signer.address, fleet: fleet.fleet, domain: fleet.domain, owner: fleet.owner.address, now: 100n }
  t.doesNotThrow(() => checkPeerBinding(base), 'a bound peer')
  const reason = (p: Partial<typeof base>): unknown => {
    try {
      checkPeerBinding({ ...base, ...p })
      return 'bound'
    } catch (err) {
      return (err as BaseError).code === 'CW_MESH_PEER_NOT_BOUND' ? (err as BaseError).details.reason : err
    }
  }
  t.equal(reason({ peerId: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN' }), 'peer-id')
  t.equal(reason({ fleet: keccak256(toHex('other')) }), 'fleet')
  t.equal(reason({ device: createMemorySigner().address }), 'device')
  t.equal(reason({ now: 2n ** 41n }), 'validity')
  t.equal(reason({ owner: createMemorySigner().address }), 'signature')
  const expired = await signDeviceCertificate({ domain: fleet.domain, signer: fleet.owner, message: { ...device.certificate.message, validFrom: 200n } })
  t.equal(reason({ certificate: expired }), 'validity', 'not yet valid')
})

t.test('stream limiter: per peer and in total', async (t) => {
  const limiter = new StreamLimiter({ maxPerPeer: 2, maxTotal: 3 })
  t.same([limiter.acquire('a'), limiter.acquire('a'), limiter.acquire('a')], [true, true, false])
  t.same([limiter.acquire('b'), limiter.acquire('c')], [true, false], 'the total caps too')
  limiter.release('a')
  t.ok(limiter.acquire('c'), 'a released slot is reusable')
  limiter.release('zzz')
  t.equal(limiter.active, 3, 'releasing an unknown peer changes nothing')
})
