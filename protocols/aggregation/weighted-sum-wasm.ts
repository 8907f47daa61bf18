// The WebAssembly SIMD kernel of the weighted sum, hand-assembled here so that no build step and
// no toolchain download is needed. Its text form:
//
//   (module
//     (memory (export "memory") 1)
//     ;; acc[i] += w * x[i] for the float32 x[0..n) at `x` and the float64 acc[0..n) at `acc`,
//     ;; n a multiple of 4 (xEnd = x + 4n). Returns 1 if some x[i] is NaN or ±Infinity, else 0.
//     (func (export "accumulate") (param $acc i32) (param $x i32) (param $xEnd i32) (param $w f64) (result i32)
//       (local $wv v128) (local $bad v128) (local $v v128)
//       (local.set $wv (f64x2.splat (local.get $w)))
//       (block $done (loop $next
//         (br_if $done (i32.ge_u (local.get $x) (local.get $xEnd)))
//         (local.set $v (v128.load (local.get $x)))
//         ;; v - v is +0 for a finite v and NaN otherwise: any non-zero bit marks a non-finite value.
//         (local.set $bad (v128.or (local.get $bad) (f32x4.sub (local.get $v) (local.get $v))))
//         (v128.store offset=0 (local.get $acc)
//           (f64x2.add (v128.load offset=0 (local.get $acc))
//                      (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $wv))))
//         (v128.store offset=16 (local.get $acc)
//           (f64x2.add (v128.load offset=16 (local.get $acc))
//                      (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
//                                 (local.get $wv))))
//         (local.set $acc (i32.add (local.get $acc) (i32.const 32)))
//         (local.set $x (i32.add (local.get $x) (i32.const 16)))
//         (br $next)))
//       (v128.any_true (local.get $bad))))
//
// Every lane operation is an IEEE 754 binary64 operation (promotion is exact, then one rounded
// multiply and one rounded add; WebAssembly never fuses them), so the result is bit for bit that
// of the scalar `acc[i] + w * x[i]` in JavaScript. Opcodes: WebAssembly Core Specification 2.0,
// §5.4 (instructions) and §5.5 (modules); SIMD opcodes are prefixed by 0xfd, then a LEB128 u32.

const SIMD = 0xfd
/** A SIMD instruction: the 0xfd prefix and its opcode as unsigned LEB128. */
const simd = (opcode: number): number[] => (opcode < 0x80 ? [SIMD, opcode] : [SIMD, (opcode & 0x7f) | 0x80, opcode >> 7])
const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  void: 0x40,
  v128Load: simd(0x00),
  v128Store: simd(0x0b),
  i8x16Shuffle: simd(0x0d),
  f64x2Splat: simd(0x14),
  v128Or: simd(0x50),
  v128AnyTrue: simd(0x53),
  f64x2PromoteLowF32x4: simd(0x5f),
  f32x4Sub: simd(0xe5),
  f64x2Add: simd(0xf0),
  f64x2Mul: simd(0xf2),
} as const
const type = { i32: 0x7f, f64: 0x7c, v128: 0x7b, func: 0x60 } as const
/** memarg: alignment exponent, then offset (both LEB128; all ours are < 128). */
const memarg = (align: number, offset: number) => [align, offset]

const [ACC, X, X_END, W, WV, BAD, V] = [0, 1, 2, 3, 4, 5, 6]
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]
const half = (offset: number, promote: number[]) => [
  op.localGet, ACC,
  op.localGet, ACC, ...op.v128Load, ...memarg(3, offset),
  ...promote, ...op.f64x2PromoteLowF32x4, op.localGet, WV, ...op.f64x2Mul,
  ...op.f64x2Add,
  ...op.v128Store, ...memarg(3, offset),
]
const body = [
  1, 3, type.v128, // locals: 3 × v128 ($wv, $bad, $v)
  op.localGet, W, ...op.f64x2Splat, op.localSet, WV,
  op.block, op.void, op.loop, op.void,
  op.localGet, X, op.localGet, X_END, op.i32GeU, op.brIf, 1,
  op.localGet, X, ...op.v128Load, ...memarg(2, 0), op.localSet, V,
  op.localGet, BAD, op.localGet, V, op.localGet, V, ...op.f32x4Sub, ...op.v128Or, op.localSet, BAD,
  ...half(0, [op.localGet, V]),
  ...half(16, [op.localGet, V, op.localGet, V, ...op.i8x16Shuffle, ...HIGH_HALF]),
  op.localGet, ACC, op.i32Const, 32, op.i32Add, op.localSet, ACC,
  op.localGet, X, op.i32Const, 16, op.i32Add, op.localSet, X,
  op.br, 0,
  op.end, op.end,
  op.localGet, BAD, ...op.v128AnyTrue,
  op.end,
]

/** Unsigned LEB128 of a length. */
function leb(n: number): number[] {
  const out: number[] = []
  do {
    const byte = n & 0x7f
    n >>>= 7
    out.push(n === 0 ? byte : byte | 0x80)
  } while (n !== 0)
  return out
}
const name = (s: string) => [...leb(s.length), ...Buffer.from(s, 'utf8')]
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()]
const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content]

/** The module's bytes (§5.5: magic, version, then the type, function, memory, export and code sections). */
export const WEIGHTED_SUM_WASM = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([[type.func, ...vec([[type.i32], [type.i32], [type.i32], [type.f64]]), ...vec([[type.i32]])]])),
  ...section(3, vec([[0]])),
  ...section(5, vec([[0x00, 1]])), // one memory, no maximum, 1 page to start with
  ...section(7, vec([
    [...name('memory'), 0x02, 0],
    [...name('accumulate'), 0x00, 0],
  ])),
  ...section(10, vec([[...leb(body.length), ...body]])),
])

/** The part of the WebAssembly JavaScript API used here (the project's libs carry no DOM types). */
interface WasmModule {
  readonly kind?: 'module'
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean
  Module: new (bytes: Uint8Array) => WasmModule
  Instance: new (module: WasmModule) => { readonly exports: unknown }
}

export interface WeightedSumExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number }
  accumulate(acc: number, x: number, xEnd: number, w: number): number
}

const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly

/** Whether this engine validates the module, i.e. has WebAssembly with SIMD. */
export const wasmSimdSupported = (bytes: Uint8Array): boolean => wasm !== undefined && wasm.validate(bytes)

/** The compiled kernel, or undefined where this engine has no WebAssembly SIMD. */
const compiled: WasmModule | undefined = wasmSimdSupported(WEIGHTED_SUM_WASM) ? new (wasm as WasmApi).Module(WEIGHTED_SUM_WASM) : undefined

/** Whether the kernel runs here; where it does not, the JavaScript loop takes over. */
export const weightedSumKernelAvailable = compiled !== undefined

/** A new instance of the kernel, with its own zeroed memory, or undefined where there is none. */
export const instantiateWeightedSum = (): WeightedSumExports | undefined =>
  compiled === undefined ? undefined : (new (wasm as WasmApi).Instance(compiled).exports as WeightedSumExports)
