// Hardware-layer throughput. Prints a table and writes bench/results/hardware.json.
//
// Key stores: signatures per second from the file key store and from the PKCS#11 key store on a
// SoftHSM2 token made for the run, each compared with the in-memory @noble/secp256k1 signer of
// protocols/ measured in the same run. Sensors: bench/hardware-sensors.ts.
//
// Run: npx tsx bench/hardware.ts [--quick]
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { bytesToHex, keccak256, type Hex } from 'viem'
import { createMemorySigner } from '../protocols/index.js'
import { SCRYPT_DEFAULTS } from '../hardware/constants.js'
import { openFileKeyStore, openPkcs11KeyStore, type KeySigner } from '../hardware/keys/index.js'
import { opsPerSecond, printTable, withRatios, writeResults, type Row } from './lib/report.js'
import { sensorBenchRows } from './hardware-sensors.js'

const quick = process.argv.includes('--quick')
const MIN_MS = quick ? 300 : 1500
const run = promisify(execFile)

const digests: Hex[] = Array.from({ length: 64 }, (_, i) => keccak256(new Uint8Array([i, 0xbe])))
let n = 0
const nextDigest = (): Hex => digests[n++ % digests.length] as Hex

const SOFTHSM_MODULE =
  process.env.SOFTHSM2_MODULE ??
  ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'].find(
    (path) => existsSync(path),
  )

const SIGN = 'sign'
const BASELINE = 'memory signer (@noble/secp256k1, protocols)'

/** Signatures per second of one signer, one call at a time (the device's case). */
const signRate = (signer: { signDigest(digest: Hex): Promise<Hex> }) => opsPerSecond(() => signer.signDigest(nextDigest()), MIN_MS / 2, 8)

/** Signatures per second with `callers` calls in flight at once. */
const concurrentSignRate = async (signer: KeySigner, callers: number) =>
  callers * (await opsPerSecond(() => Promise.all(Array.from({ length: callers }, () => signer.signDigest(nextDigest()))), MIN_MS / 2, 2))

/** The median of `rounds` measurements, taken in turn with the other signers' (see below). */
const median = (values: number[]): number => {
  const sorted = values.toSorted((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

export async function keyStoreRows(): Promise<Row[]> {
  const rows: Row[] = []
  const work = await mkdtemp(join(tmpdir(), 'cw-bench-hardware-'))
  const closers: (() => Promise<void>)[] = []
  try {
    // Signers to compare, each measured sequentially (the device's case) and with 4 callers.
    const signers: { name: string; signer: { signDigest(digest: Hex): Promise<Hex> }; concurrent?: KeySigner }[] = []
    signers.push({ name: BASELINE, signer: createMemorySigner({ privateKey: bytesToHex(new Uint8Array(32).fill(0x5a)) }) })

    // File key store: the key is decrypted once at open(); signing is the noble signer behind the
    // store's validation, so the gap to the baseline is the store's overhead.
    const env = { CW_BENCH_PASSWORD: 'bench password' }
    const fileStore = await openFileKeyStore({ kind: 'file', directory: join(work, 'keys'), password: { env: 'CW_BENCH_PASSWORD' } }, { env })
    closers.push(() => fileStore.close())
    await fileStore.generate('bench')
    const fileSigner = await fileStore.open('bench')
    signers.push({ name: 'file key store (v3 file)', signer: fileSigner, concurrent: fileSigner })
    // Opening pays the scrypt KDF: what a device spends on its key at start-up.
    const openRate = await opsPerSecond(() => fileStore.open('bench'), quick ? 1 : 3000)
    rows.push({ group: 'open key', name: `file key store open (scrypt N=2^${Math.log2(SCRYPT_DEFAULTS.n)}, r=${SCRYPT_DEFAULTS.r})`, value: openRate, unit: 'open/s' })

    if (SOFTHSM_MODULE === undefined) {
      console.warn('SoftHSM2 not found (set SOFTHSM2_MODULE): PKCS#11 rows skipped')
    } else {
      const tokens = join(work, 'tokens')
      await mkdir(tokens)
      const config = join(work, 'softhsm2.conf')
      await writeFile(config, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`)
      // SoftHSM reads its configuration at C_Initialize, which the store's open() calls.
      process.env.SOFTHSM2_CONF = config
      const pin = '135790'
      await run('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', pin, '--so-pin', `so-${pin}`], {
        env: { ...process.env, SOFTHSM2_CONF: config },
      })
      const hsm = await openPkcs11KeyStore(
        { kind: 'pkcs11', module: SOFTHSM_MODULE, token: { label: 'bench' }, pin: { env: 'CW_BENCH_PIN' } },
        { env: { CW_BENCH_PIN: pin } },
      )
      closers.push(() => hsm.close())
      await hsm.generate('bench')
      const hsmSigner = await hsm.open('bench')
      signers.push({ name: 'pkcs11 key store (SoftHSM2, CKM_ECDSA)', signer: hsmSigner, concurrent: hsmSigner })
      let generated = 0
      const keygen = await opsPerSecond(() => hsm.generate(`k${generated++}`), quick ? 1 : 1000)
      rows.push({ group: 'generate key', name: 'pkcs11 key store (SoftHSM2, in-token secp256k1)', value: keygen, unit: 'key/s' })
    }

    // Rounds taken in turn, each signer once per round, and the median kept: on a shared machine
    // a slow patch then hits every signer alike instead of whichever ran during it.
    const rounds = quick ? 1 : 3
    const sequential = new Map<string, number[]>()
    const concurrent = new Map<string, number[]>()
    for (let round = 0; round < rounds; round++) {
      for (const { name, signer, concurrent: many } of signers) {
        sequential.set(name, [...(sequential.get(name) ?? []), await signRate(signer)])
        if (many !== undefined) concurrent.set(name, [...(concurrent.get(name) ?? []), await concurrentSignRate(many, 4)])
      }
    }
    const signRows: Row[] = []
    for (const { name } of signers) {
      signRows.push({ group: SIGN, name, value: median(sequential.get(name) ?? []), unit: 'sig/s', ...(name === BASELINE ? {} : { baseline: BASELINE }) })
      const many = concurrent.get(name)
      if (many !== undefined) signRows.push({ group: SIGN, name: `${name.replace(/ \(.*\)$/, '')}, 4 concurrent callers`, value: median(many), unit: 'sig/s', baseline: BASELINE })
    }
    return [...signRows, ...rows]
  } finally {
    for (const close of closers.reverse()) await close()
    await rm(work, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [...(await keyStoreRows())]
  rows.push(...(await sensorBenchRows({ quick })))
  // Keep each group's rows together, in the order the groups first appear.
  const groups = [...new Set(rows.map((r) => r.group))]
  const table = withRatios(rows.toSorted((a, b) => groups.indexOf(a.group) - groups.indexOf(b.group)))
  printTable('hardware: key stores and sensors', table)
  console.log(`\nwrote ${writeResults('hardware', table)}`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
