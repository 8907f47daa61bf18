// Feeds random and mutated byte strings to every decoder: each must either decode or throw a
// typed Counterweight error, never anything else, never hang, never allocate beyond its cap.
import t from 'tap'
import fc from 'fast-check'
import {
  BaseError,
  MAX_MESSAGE_BYTES,
  MESSAGE_KINDS,
  createMemorySigner,
  decodeSigned,
  decodeSubmission,
  decodeUpdate,
  encodeSigned,
  encodeSubmission,
  encodeUpdate,
  fleetDomain,
  signMessage,
} from '../../protocols/index.js'
import { MESSAGE_ARBITRARIES, exampleMessage } from '../helpers/arbitraries.js'
// mulberry32, seeded, so that a failure can be replayed from its seed.
import { prng } from '../../cli/demo/dirichlet-split.js'

const INPUTS_PER_DECODER = 100_000
const MiB = 1024 * 1024

function mutate(seed: Uint8Array, rand: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n)
  let bytes = seed.slice()
  const edits = 1 + int(4)
  for (let e = 0; e < edits; e++) {
    const at = int(bytes.length + 1)
    switch (int(6)) {
      case 0: // flip a bit
        if (bytes.length > 0) bytes[at % bytes.length] = (bytes[at % bytes.length] ?? 0) ^ (1 << int(8))
        break
      case 1: // replace a byte with an interesting value
        if (bytes.length > 0) bytes[at % bytes.length] = [0x00, 0xff, 0x7f, 0x80, 0x0a, 0x12][int(6)] ?? 0
        break
      case 2: // insert random bytes
        bytes = new Uint8Array([...bytes.subarray(0, at), ...Array.from({ length: 1 + int(8) }, () => int(256)), ...bytes.subarray(at)])
        break
      case 3: // delete a run
        bytes = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + 1 + int(8))])
        break
      case 4: // truncate
        bytes = bytes.subarray(0, at)
        break
      case 5: // a huge length prefix or varint
        bytes = new Uint8Array([...bytes.subarray(0, at), 0xff, 0xff, 0xff, 0xff, 0x0f, ...bytes.subarray(at)])
        break
    }
  }
  return bytes
}

function randomBytes(rand: () => number): Uint8Array {
  const length = Math.floor(rand() * 300)
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = Math.floor(rand() * 256)
  return out
}

interface Decoder {
  name: string
  decode: (bytes: Uint8Array) => unknown
  seeds: Uint8Array[]
  cap: number
}

async function decoders(): Promise<Decoder[]> {
  const device = createMemorySigner()
  const owner = createMemorySigner()
  const domain = fleetDomain({ chainId: 5, verifyingContract: owner.address })
  const list: Decoder[] = MESSAGE_KINDS.map((kind) => ({
    name: kind,
    decode: (b: Uint8Array) => decodeSigned(kind, b),
    seeds: fc.sample(MESSAGE_ARBITRARIES[kind]() as fc.Arbitrary<unknown>, { numRuns: 20, seed: 11 }).map((message) =>
      encodeSigned(kind, { message: message as never, signature: `0x${'ab'.repeat(64)}1b` }),
    ),
    cap: MAX_MESSAGE_BYTES[kind],
  }))
  const tensors = [
    { name: 'bias', dtype: 'float32' as const, shape: [4], data: new Float32Array([0.5, -1, 2, 0]) },
    { name: 'weight', dtype: 'float32' as const, shape: [2, 3], data: new Float32Array([1, 2, 3, -4, 5, -6]) },
  ]
  const updates = (['float32', 'float16', 'int8', 'topk'] as const).map((encoding) => encodeUpdate(tensors, { encoding, density: 0.5 }))
  list.push({ name: 'ModelUpdate', decode: decodeUpdate, seeds: updates, cap: MAX_MESSAGE_BYTES.ModelUpdate })
  const attestation = await signMessage('UpdateAttestation', { domain, message: exampleMessage('UpdateAttestation', device.address), signer: device })
  const certificate = await signMessage('DeviceCertificate', { domain, message: exampleMessage('DeviceCertificate', device.address), signer: owner })
  list.push({
    name: 'UpdateSubmission',
    decode: decodeSubmission,
    seeds: updates.map((update) => encodeSubmission({ attestation, certificate, update })),
    cap: MAX_MESSAGE_BYTES.UpdateSubmission,
  })
  return list
}

for (const decoder of await decoders()) {
  t.test(`${decoder.name}: ${INPUTS_PER_DECODER} random and mutated inputs`, async (t) => {
    const seed = 0xc0ffee ^ decoder.name.length
    const rand = prng(seed)
    const baseline = process.memoryUsage().arrayBuffers
    let peak = baseline
    let decoded = 0
    let refused = 0
    const untyped: string[] = []
    for (let i = 0; i < INPUTS_PER_DECODER; i++) {
      const input = i % 4 === 0 ? randomBytes(rand) : mutate(decoder.seeds[i % decoder.seeds.length] as Uint8Array, rand)
      try {
        decoder.decode(input)
        decoded++
      } catch (err) {
        if (err instanceof BaseError) refused++
        else if (untyped.length < 5) untyped.push(`input ${i} (seed ${seed}): ${String(err)}`)
      }
      if (i % 2000 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers)
    }
    t.same(untyped, [], 'only typed errors')
    t.equal(decoded + refused, INPUTS_PER_DECODER, `${refused} refused with typed errors, ${decoded} decoded`)
    t.ok(refused > INPUTS_PER_DECODER / 2, 'most hostile inputs are refused')
    t.ok(peak - baseline < 64 * MiB, `array-buffer memory grew by ${((peak - baseline) / MiB).toFixed(1)} MiB at most`)
    t.throws(() => decoder.decode(new Uint8Array(decoder.cap + 1)), { code: 'CW_MESSAGE_TOO_LARGE' }, 'one byte over the cap is refused unread')
  })
}
