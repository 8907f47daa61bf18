// Strict decoding checks each byte of a submission and its update once: the canonical check
// assembles the expected bytes around the payload views instead of re-encoding them.
import t from 'tap'
import {
  createMemorySigner,
  decodeSubmission,
  decodeUpdate,
  encodeSubmission,
  encodeUpdate,
  fleetDomain,
  signMessage,
} from '../../protocols/index.js'
import { lengthDelimitedHeader, requireCanonicalParts } from '../../protocols/wire/codec.js'
import * as proto from '../../protocols/wire/proto/messages.js'
import { exampleMessage } from '../helpers/arbitraries.js'

const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e-3)
const update = encodeUpdate([{ name: 'w', dtype: 'float32', shape: [1000], data: values }], { encoding: 'float32' })

async function submission(payload: Uint8Array): Promise<Uint8Array> {
  const device = createMemorySigner()
  const owner = createMemorySigner()
  const domain = fleetDomain({ chainId: 1, verifyingContract: owner.address })
  const attestation = await signMessage('UpdateAttestation', { domain, message: exampleMessage('UpdateAttestation', device.address), signer: device })
  const certificate = await signMessage('DeviceCertificate', { domain, message: exampleMessage('DeviceCertificate', device.address), signer: owner })
  return encodeSubmission({ attestation, certificate, update: payload })
}

t.test('a submission hands out its update as a view, and every byte is still checked', async (t) => {
  const bytes = await submission(update)
  const back = decodeSubmission(bytes)
  t.equal(back.update.buffer, bytes.buffer, 'the update is a view of the submission, not a copy')
  t.same(Buffer.from(back.update), Buffer.from(update))
  // Non-canonical forms around or inside the payload are all refused.
  const notCanonical = { code: 'CW_DECODE', details: { type: 'UpdateSubmission', field: 'bytes' } }
  t.throws(() => decodeSubmission(Buffer.concat([bytes, Uint8Array.of(0)])), notCanonical, 'a trailing byte')
  const again = Buffer.concat([lengthDelimitedHeader(3, 2), Uint8Array.of(1, 2)])
  t.throws(() => decodeSubmission(Buffer.concat([bytes, again])), notCanonical, 'the update field twice (the last would win)')
  const wire = proto.UpdateSubmission.decode(bytes)
  const first = proto.UpdateSubmission.encode({ update: wire.update })
  const rest = proto.UpdateSubmission.encode({ ...wire, update: new Uint8Array(0) })
  t.throws(() => decodeSubmission(Buffer.concat([first, rest])), notCanonical, 'the update before the signed messages')
  t.same(Buffer.from(decodeSubmission(await submission(new Uint8Array(0))).update), Buffer.alloc(0), 'an empty update is no field at all')
})

t.test('a float32 update is a view where aligned, a copy where not, and the same values either way', async (t) => {
  for (const offset of [0, 1, 2, 3, 4, 5]) {
    const shifted = Buffer.concat([Buffer.alloc(offset), update]).subarray(offset)
    const data = decodeUpdate(shifted).tensors[0]?.data as Float32Array
    t.same(data, values, `offset ${offset}`)
    const dataAt = shifted.byteOffset + shifted.length - 4000
    t.equal(data.buffer === shifted.buffer, dataAt % 4 === 0, `offset ${offset}: a view exactly when 4-byte aligned`)
  }
})

t.test('an update whose fields are out of order, repeated or trailed is refused', async (t) => {
  const wire = proto.ModelUpdate.decode(update)
  const tensor = wire.tensors[0] as proto.UpdateTensor
  const notCanonical = { code: 'CW_DECODE', details: { type: 'ModelUpdate', field: 'bytes' } }
  // data (3) before name (1) and shape (2), written by hand: the decoder reads it all the same.
  const dataFirst = Buffer.concat([lengthDelimitedHeader(3, tensor.data.length), tensor.data, proto.UpdateTensor.encode({ ...tensor, data: new Uint8Array(0) })])
  const swapped = Buffer.concat([lengthDelimitedHeader(2, dataFirst.length), dataFirst])
  t.same(proto.ModelUpdate.decode(swapped).tensors[0]?.name, 'w', 'protobuf accepts it')
  t.throws(() => decodeUpdate(swapped), notCanonical, 'but it is not canonical')
  const twice = Buffer.concat([lengthDelimitedHeader(3, 4), Uint8Array.of(0, 0, 0, 0), lengthDelimitedHeader(3, tensor.data.length), tensor.data])
  const body = Buffer.concat([proto.UpdateTensor.encode({ name: tensor.name, shape: tensor.shape, data: new Uint8Array(0), scale: 0, indices: new Uint8Array(0) }), twice])
  t.throws(() => decodeUpdate(Buffer.concat([lengthDelimitedHeader(2, body.length), body])), notCanonical, 'data twice')
  t.throws(() => decodeUpdate(Buffer.concat([update, Uint8Array.of(8, 0)])), notCanonical, 'a default-valued field after the tensors')
})

t.test('requireCanonicalParts compares what is not in place and names the first differing byte', async (t) => {
  const bytes = Uint8Array.of(1, 2, 3, 4, 5)
  t.doesNotThrow(() => requireCanonicalParts('X', bytes, [Uint8Array.of(1, 2), bytes.subarray(2, 4), Uint8Array.of(5)]))
  t.doesNotThrow(() => requireCanonicalParts('X', bytes, [Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5)]), 'copies equal to the bytes')
  t.throws(() => requireCanonicalParts('X', bytes, [Uint8Array.of(1, 2), Uint8Array.of(3, 9), Uint8Array.of(5)]), { code: 'CW_DECODE', details: { offset: 3 } })
  t.throws(() => requireCanonicalParts('X', bytes, [Uint8Array.of(1, 2), bytes.subarray(3, 5)]), { code: 'CW_DECODE', details: { offset: 2 } }, 'a view, but of the wrong place')
  t.throws(() => requireCanonicalParts('X', bytes, [Uint8Array.of(1, 2, 3)]), { code: 'CW_DECODE', details: { offset: 3 } }, 'bytes left over')
  t.throws(() => requireCanonicalParts('X', bytes, [bytes, Uint8Array.of(6)]), { code: 'CW_DECODE', details: { offset: 5 } }, 'bytes missing')
  t.same(Array.from(lengthDelimitedHeader(3, 300)), [26, 0xac, 0x02])
})
