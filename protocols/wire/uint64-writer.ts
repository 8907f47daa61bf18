// Works around a bug in protons-runtime 7.1.2: its writer stores a varint's low 32 bits signed
// (LongBits' constructor does `lo | 0`) and then loops `while (lo > 127)`, so every uint64 whose
// low word is ≥ 2^31 (3,400,000,000 for one; a unix time after January 2038) is written as one
// byte plus uninitialised memory. Its reader is correct. This replaces the writer's `uint64` with
// a plain varint (protobuf encoding guide, "Base 128 Varints"); test/protocols/wire-codec.test.ts
// checks the boundary values through every message.
import { encodeMessage, type Codec } from 'protons-runtime'

interface PushingWriter {
  _push(fn: (value: bigint, buf: Uint8Array, pos: number) => void, len: number, value: bigint): unknown
  uint64(value: bigint): unknown
}

function writeVarint(value: bigint, buf: Uint8Array, pos: number): void {
  let v = value
  while (v > 127n) {
    buf[pos++] = Number(v & 127n) | 128
    v >>= 7n
  }
  buf[pos] = Number(v)
}

export function varintLength(value: bigint): number {
  let len = 1
  for (let v = value >> 7n; v > 0n; v >>= 7n) len++
  return len
}

let patched = false

/** Installs the corrected `uint64` on protons-runtime's writer; idempotent. */
export function patchUint64Writer(): void {
  if (patched) return
  let prototype: PushingWriter | undefined
  // The writer class is not exported; one encode hands us an instance.
  const probe = { encode: (_obj: unknown, writer: PushingWriter) => void (prototype = Object.getPrototypeOf(writer) as PushingWriter) }
  encodeMessage({}, probe as unknown as Codec<object>)
  if (prototype === undefined) throw new Error('protons-runtime writer not found')
  prototype.uint64 = function (this: PushingWriter, value: bigint) {
    const v = BigInt.asUintN(64, value)
    return this._push(writeVarint, varintLength(v), v)
  }
  patched = true
}

patchUint64Writer()
