// Signature and update-codec throughput. Prints a table and writes bench/results/protocols.json.
// Every row is compared with a baseline measured in the same run: signatures with
// @noble/secp256k1, codec speeds with a plain memory copy of the same bytes.
import * as nobleSecp from '@noble/secp256k1'
import { secp256k1 as nobleCurves } from '@noble/curves/secp256k1.js'
import { createRequire } from 'node:module'
import * as tinySecp from 'tiny-secp256k1'
import { bytesToHex, hexToBytes, keccak256, type Hex } from 'viem'
import {
  createMemorySigner,
  decodeUpdate,
  defaultRecoveryBackend,
  encodeUpdate,
  nativeBackend,
  nobleCurvesBackend,
  nobleSecp256k1Backend,
  recoverSigner,
  wasmBackend,
  type UpdateEncoding,
} from '../protocols/index.js'
import { opsPerSecond, printTable, withRatios, writeResults, type Row } from './lib/report.js'

const quick = process.argv.includes('--quick')
const MIN_MS = quick ? 300 : 1500
const require = createRequire(import.meta.url)
const native = require('secp256k1/bindings') as {
  ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number }
}

const key = hexToBytes(`0x${'5a'.repeat(32)}`)
const digests: Uint8Array[] = Array.from({ length: 64 }, (_, i) => hexToBytes(keccak256(new Uint8Array([i]))))
let n = 0
const nextDigest = () => digests[n++ % digests.length] as Uint8Array

async function signatureRows(): Promise<Row[]> {
  const rows: Row[] = []
  const BASE = '@noble/secp256k1'
  const signers: [string, () => unknown][] = [
    [BASE, () => nobleSecp.sign(nextDigest(), key, { prehash: false, format: 'recovered' })],
    ['@noble/curves', () => nobleCurves.sign(nextDigest(), key, { prehash: false, format: 'recovered' })],
    ['secp256k1 (libsecp256k1, native)', () => native.ecdsaSign(nextDigest(), key)],
    ['tiny-secp256k1 (libsecp256k1, WebAssembly)', () => tinySecp.signRecoverable(nextDigest(), key)],
  ]
  nobleSecp.hashes.hmacSha256 = (k, m) => new Uint8Array(require('node:crypto').createHmac('sha256', k).update(m).digest())
  for (const [name, fn] of signers) rows.push({ group: 'sign', name, value: await opsPerSecond(fn, MIN_MS, 16), unit: 'sig/s', baseline: BASE })

  // Verification as the gateway does it: recover the signer's address from digest + signature.
  const signer = createMemorySigner({ privateKey: bytesToHex(key) })
  const signed: [Uint8Array, Hex][] = await Promise.all(digests.map(async (d) => [d, await signer.signDigest(bytesToHex(d))] as [Uint8Array, Hex]))
  const backends = [nobleSecp256k1Backend, nobleCurvesBackend, ...(nativeBackend === undefined ? [] : [nativeBackend]), wasmBackend]
  for (const backend of backends) {
    let i = 0
    const value = await opsPerSecond(() => {
      const [d, s] = signed[i++ % signed.length] as [Uint8Array, Hex]
      if (recoverSigner(d, s, backend) !== signer.address) throw new Error(`${backend.name} recovered the wrong address`)
    }, MIN_MS, 16)
    rows.push({ group: 'verify (recover address)', name: backend.name, value, unit: 'sig/s', baseline: BASE })
  }
  return rows
}

function tensorsOf(params: number) {
  // Deltas shaped like a real update: small, roughly normal values, split into a few tensors.
  let seed = 42
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5
  const sizes = [Math.floor(params * 0.7), Math.floor(params * 0.2), params - Math.floor(params * 0.7) - Math.floor(params * 0.2)]
  return sizes.map((size, i) => ({ name: `layer${i}.weight`, dtype: 'float32' as const, shape: [size], data: Float32Array.from({ length: size }, () => rand() * 0.02) }))
}

async function codecRows(): Promise<Row[]> {
  const rows: Row[] = []
  for (const params of [100_000, 1_000_000]) {
    const group = `update ${params / 1000}k params`
    const tensors = tensorsOf(params)
    const denseBytes = params * 4
    const MB = denseBytes / 1e6
    // Baseline: copying the dense float32 bytes once.
    const source = new Uint8Array(denseBytes)
    rows.push({ group, name: 'memcpy (baseline)', value: MB * (await opsPerSecond(() => source.slice(), MIN_MS)), unit: 'MB/s' })
    for (const encoding of ['float32', 'float16', 'int8', 'topk'] as UpdateEncoding[]) {
      const options = { encoding, density: 0.01 }
      const bytes = encodeUpdate(tensors, options)
      // MB/s of model parameters (4 bytes each), so encodings compare on the same work.
      const enc = MB * (await opsPerSecond(() => encodeUpdate(tensors, options), MIN_MS))
      const dec = MB * (await opsPerSecond(() => decodeUpdate(bytes), MIN_MS))
      rows.push({ group, name: `encode ${encoding} (${(bytes.length / 1e6).toFixed(2)} MB)`, value: enc, unit: 'MB/s', baseline: 'memcpy (baseline)' })
      rows.push({ group, name: `decode ${encoding}`, value: dec, unit: 'MB/s', baseline: 'memcpy (baseline)' })
    }
  }
  return rows
}

const rows = withRatios([...(await signatureRows()), ...(await codecRows())])
printTable('protocols: signatures and update codec', rows)
const verifiers = rows.filter((r) => r.group.startsWith('verify')).sort((a, b) => b.value - a.value)
console.log(`\nfastest verifier here: ${verifiers[0]?.name}; default recovery backend: ${defaultRecoveryBackend.name}`)
console.log(`wrote ${writeResults('protocols', rows, { defaultRecoveryBackend: defaultRecoveryBackend.name })}`)
