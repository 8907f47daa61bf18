import t from 'tap'
import fc from 'fast-check'
import { f16round } from '@petamoriken/float16'
import {
  DecodeError,
  FLOAT16_MAX,
  MAX_TENSOR_ELEMENTS,
  TensorFormatError,
  UPDATE_ENCODINGS,
  contentId,
  decodeUpdate,
  encodeUpdate,
  quantisationBound,
  type UpdateEncoding,
  type UpdateTensor,
} from '../../protocols/index.js'
import * as proto from '../../protocols/wire/proto/messages.js'

const shape = () => fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 })
const tensorWith = (name: string, value: fc.Arbitrary<number>): fc.Arbitrary<UpdateTensor> =>
  shape().chain((s) => {
    const n = s.reduce((a, b) => a * b, 1)
    return fc.array(value, { minLength: n, maxLength: n }).map((v) => ({ name, dtype: 'float32' as const, shape: s, data: Float32Array.from(v) }))
  })
const f32 = (max: number) => fc.float({ min: Math.fround(-max), max: Math.fround(max), noNaN: true, noDefaultInfinity: true })
const updateArb = (max = 1e6) =>
  fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }).chain((names) => fc.tuple(...names.map((n) => tensorWith(n, f32(max)))))

const maxAbs = (data: Float32Array) => data.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
const byName = (ts: readonly UpdateTensor[]) => new Map(ts.map((x) => [x.name, x]))

t.test('float32: decode(encode(x)) = x exactly, in canonical name order', async (t) => {
  fc.assert(
    fc.property(updateArb(), (tensors) => {
      const decoded = decodeUpdate(encodeUpdate(tensors, { encoding: 'float32' }))
      const names = decoded.tensors.map((x) => x.name)
      if (names.join('\0') !== [...names].sort().join('\0')) return false
      const original = byName(tensors)
      return decoded.encoding === 'float32' && decoded.tensors.every((d) => {
        const o = original.get(d.name)
        return o !== undefined && d.shape.join() === o.shape.join() && d.data.every((v, i) => Object.is(v, o.data[i]))
      })
    }),
    { numRuns: 300 },
  )
  t.pass('300 random updates round-trip exactly')
})

for (const encoding of ['float16', 'int8'] as const satisfies readonly UpdateEncoding[]) {
  t.test(`${encoding}: quantisation error stays within its stated bound`, async (t) => {
    let worst = 0
    fc.assert(
      fc.property(updateArb(encoding === 'float16' ? FLOAT16_MAX : 1e6), (tensors) => {
        const bytes = encodeUpdate(tensors, { encoding })
        const decoded = byName(decodeUpdate(bytes).tensors)
        for (const o of tensors) {
          const d = decoded.get(o.name)
          if (d === undefined) return false
          const m = maxAbs(o.data)
          for (let i = 0; i < o.data.length; i++) {
            const x = o.data[i] as number
            const err = Math.abs((d.data[i] as number) - x)
            const bound = quantisationBound(encoding, x, m)
            if (err > bound) return false
            if (bound > 0) worst = Math.max(worst, err / bound)
            if (encoding === 'float16' && (d.data[i] as number) !== f16round(x)) return false
          }
        }
        // Re-encoding what was decoded gives the same bytes: the encoding is canonical.
        return Buffer.compare(encodeUpdate([...decoded.values()], { encoding }), bytes) === 0
      }),
      { numRuns: 300 },
    )
    t.ok(worst <= 1, `worst error ${worst.toFixed(3)} of the bound`)
  })
}

t.test('topk keeps the k largest magnitudes exactly and zeroes the rest', async (t) => {
  fc.assert(
    fc.property(updateArb(), fc.double({ min: 0.05, max: 1, noNaN: true }), (tensors, density) => {
      const bytes = encodeUpdate(tensors, { encoding: 'topk', density })
      const decoded = byName(decodeUpdate(bytes).tensors)
      for (const o of tensors) {
        const d = decoded.get(o.name)
        if (d === undefined) return false
        const k = Math.max(1, Math.ceil(density * o.data.length))
        const kept = [...d.data.keys()].filter((i) => d.data[i] === o.data[i] && o.data[i] !== 0)
        const threshold = [...o.data].map(Math.abs).sort((a, b) => b - a)[k - 1] as number
        for (let i = 0; i < o.data.length; i++) {
          const x = o.data[i] as number
          const y = d.data[i] as number
          if (y !== 0 && y !== x) return false // kept entries are exact
          if (y === 0 && Math.abs(x) > threshold) return false // nothing larger than the k-th was dropped
        }
        if (kept.length > k) return false
      }
      const again = encodeUpdate([...decoded.values()], { encoding: 'topk', density })
      return decodeUpdate(again).tensors.every((x) => (decoded.get(x.name)?.data ?? []).every((v, i) => v === x.data[i]))
    }),
    { numRuns: 300 },
  )
  t.pass('300 random updates')
})

t.test('content id is the sha256 of the canonical bytes', async (t) => {
  const a: UpdateTensor = { name: 'a', dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }
  const b: UpdateTensor = { name: 'b', dtype: 'float32', shape: [1], data: new Float32Array([3]) }
  const one = encodeUpdate([a, b], { encoding: 'float32' })
  const two = encodeUpdate([b, a], { encoding: 'float32' })
  t.equal(contentId(one), contentId(two), 'tensor order does not change the id')
  t.equal(contentId(one), `0x${(await import('node:crypto')).createHash('sha256').update(one).digest('hex')}`)
  t.not(contentId(one), contentId(encodeUpdate([a, b], { encoding: 'float16' })), 'the encoding is part of the id')
})

t.test('bad tensors are refused when encoding', async (t) => {
  const ok = (data: number[], s = [data.length]): UpdateTensor => ({ name: 'w', dtype: 'float32', shape: s, data: Float32Array.from(data) })
  t.throws(() => encodeUpdate([ok([1, Number.NaN])], { encoding: 'float32' }), TensorFormatError, 'NaN')
  t.throws(() => encodeUpdate([ok([Number.POSITIVE_INFINITY])], { encoding: 'int8' }), TensorFormatError, 'Infinity')
  t.throws(() => encodeUpdate([ok([1, 2, 3], [2])], { encoding: 'float32' }), { code: 'CW_TENSOR_FORMAT' }, 'shape mismatch')
  t.throws(() => encodeUpdate([ok([1], [0])], { encoding: 'float32' }), { code: 'CW_TENSOR_FORMAT' }, 'zero dimension')
  t.throws(() => encodeUpdate([ok([70000])], { encoding: 'float16' }), { code: 'CW_TENSOR_FORMAT' }, 'beyond float16')
  t.throws(() => encodeUpdate([ok([1]), ok([2])], { encoding: 'float32' }), { code: 'CW_TENSOR_FORMAT' }, 'duplicate name')
  t.throws(() => encodeUpdate([{ ...ok([1]), name: '' }], { encoding: 'float32' }), { code: 'CW_TENSOR_FORMAT' }, 'empty name')
  t.throws(() => encodeUpdate([ok([1])], { encoding: 'bf16' as never }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'encoding' } })
  t.throws(() => encodeUpdate([ok([1])], { encoding: 'topk', density: 0 }), { code: 'CW_INVALID_ARGUMENT', details: { field: 'density' } })
  t.throws(() => encodeUpdate([{ ...ok([1]), data: [1] as never }], { encoding: 'float32' }), { code: 'CW_TENSOR_FORMAT' }, 'not a Float32Array')
})

t.test('hostile update bytes give DecodeErrors naming the field, before allocating', async (t) => {
  const tensor = (over: Partial<proto.UpdateTensor>): proto.UpdateTensor => ({
    name: 'w',
    shape: [2],
    data: new Uint8Array(new Float32Array([1, 2]).buffer),
    scale: 0,
    indices: new Uint8Array(0),
    ...over,
  })
  const enc = (encoding: proto.UpdateEncoding, ...tensors: proto.UpdateTensor[]) => proto.ModelUpdate.encode({ encoding, tensors })
  const F32 = proto.UpdateEncoding.DENSE_F32
  const cases: [string, Uint8Array, string][] = [
    ['a shape claiming 2^40 elements', enc(F32, tensor({ shape: [1 << 20, 1 << 20] })), 'tensors[0].shape'],
    ['a rank over the cap', enc(F32, tensor({ shape: [1, 1, 1, 1, 1, 1, 1, 1, 2] })), 'shape'],
    ['data shorter than the shape', enc(F32, tensor({ shape: [3] })), 'tensors[0].data'],
    ['NaN in float32 data', enc(F32, tensor({ data: new Uint8Array(new Float32Array([1, Number.NaN]).buffer) })), 'tensors[0].data'],
    ['Infinity in float16 data', enc(proto.UpdateEncoding.DENSE_F16, tensor({ data: new Uint8Array([0, 0x3c, 0, 0x7c]) })), 'tensors[0].data'],
    ['a negative int8 scale', enc(proto.UpdateEncoding.INT8, tensor({ data: new Uint8Array([1, 2]), scale: -1 })), 'tensors[0].scale'],
    ['int8 level -128', enc(proto.UpdateEncoding.INT8, tensor({ data: new Uint8Array([0x80, 2]), scale: 1 })), 'tensors[0].data'],
    ['a scale on a float32 tensor', enc(F32, tensor({ scale: 2 })), 'tensors[0].scale'],
    ['indices on a dense tensor', enc(F32, tensor({ indices: new Uint8Array(4) })), 'tensors[0].indices'],
    ['descending top-k indices', enc(proto.UpdateEncoding.TOPK_F32, tensor({ shape: [4], indices: new Uint8Array(new Uint32Array([2, 1]).buffer) })), 'tensors[0].indices'],
    ['a top-k index past the end', enc(proto.UpdateEncoding.TOPK_F32, tensor({ shape: [2], indices: new Uint8Array(new Uint32Array([0, 2]).buffer) })), 'tensors[0].indices'],
    ['tensors out of order', enc(F32, tensor({ name: 'b' }), tensor({ name: 'a' })), 'tensors[1].name'],
    ['a duplicate tensor', enc(F32, tensor({}), tensor({})), 'tensors[1].name'],
    ['an empty name', enc(F32, tensor({ name: '' })), 'tensors[0].name'],
    ['an unknown encoding', new Uint8Array([0x08, 0x09]), 'bytes'],
  ]
  for (const [what, bytes, field] of cases) {
    t.throws(() => decodeUpdate(bytes), { code: 'CW_DECODE', details: { field } }, what)
  }
  const total = Array.from({ length: 3 }, (_, i) => tensor({ name: `t${i}`, shape: [MAX_TENSOR_ELEMENTS / 2], data: new Uint8Array(0) }))
  t.throws(() => decodeUpdate(enc(F32, ...total)), DecodeError, 'elements summed over tensors are capped too')
  t.throws(() => decodeUpdate(new Uint8Array(40 * 1024 * 1024)), { code: 'CW_MESSAGE_TOO_LARGE' }, 'over the byte cap')
  const manyTensors = proto.ModelUpdate.encode({ encoding: F32, tensors: Array.from({ length: 4097 }, (_, i) => tensor({ name: `t${String(i).padStart(5, '0')}` })) })
  t.throws(() => decodeUpdate(manyTensors), { code: 'CW_DECODE', details: { field: 'tensors' } }, 'more tensors than the cap')
  t.ok(UPDATE_ENCODINGS.length === 4)
})

t.test('float16 conversion equals @petamoriken/float16 on every half and on random floats', async (t) => {
  const { toFloat16Bits, FLOAT16_TO_FLOAT32 } = await import('../../protocols/tensors/float16.js')
  const { getFloat16 } = await import('@petamoriken/float16')
  const view = new DataView(new ArrayBuffer(2))
  let tableMismatches = 0
  let roundTripMismatches = 0
  for (let h = 0; h < 65536; h++) {
    view.setUint16(0, h, true)
    const reference = getFloat16(view, 0, true)
    const mine = FLOAT16_TO_FLOAT32[h] as number
    if (!Object.is(mine, reference) && !(Number.isNaN(mine) && Number.isNaN(reference))) tableMismatches++
    if (!Number.isNaN(reference) && toFloat16Bits(reference) !== h) roundTripMismatches++
  }
  t.equal(tableMismatches, 0, 'all 65536 halves decode like the library')
  t.equal(roundTripMismatches, 0, 'every finite half and infinity encodes back to itself')
  fc.assert(
    fc.property(fc.float({ noNaN: true }), (x) => Object.is(FLOAT16_TO_FLOAT32[toFloat16Bits(x)], f16round(x))),
    { numRuns: 20_000 },
  )
  t.pass('20,000 random floats round like f16round')
})

t.test('kthLargest finds the k-th largest whatever the input', async (t) => {
  const { kthLargest } = await import('../../protocols/tensors/select.js')
  fc.assert(
    fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 200 }), fc.nat(), (values, r) => {
      const k = 1 + (r % values.length)
      const expected = [...values].map(Math.fround).sort((a, b) => b - a)[k - 1]
      return kthLargest(Float32Array.from(values), k) === expected
    }),
    { numRuns: 500 },
  )
  t.pass('500 random arrays')
})

t.test('decodes from a Buffer at any byte offset (as level and sockets hand them out)', async (t) => {
  const tensors: UpdateTensor[] = [{ name: 'w', dtype: 'float32', shape: [3], data: new Float32Array([0.5, -1.25, 3]) }]
  for (const encoding of UPDATE_ENCODINGS) {
    const bytes = encodeUpdate(tensors, { encoding, density: 1 })
    const expected = decodeUpdate(bytes).tensors[0]?.data
    for (const offset of [1, 2, 3]) {
      const shifted = Buffer.concat([Buffer.alloc(offset), Buffer.from(bytes)]).subarray(offset)
      t.same(decodeUpdate(shifted).tensors[0]?.data, expected, `${encoding} at offset ${offset}`)
    }
  }
})
