// The `cw` bin as a user runs it: a real child process through bin/cw.js.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from 'viem'
import { createMemorySigner, encodeSigned, encodeUpdate, fleetDomain, signMessage } from '../../protocols/index.js'
import { exampleMessage } from '../helpers/arbitraries.js'
import { runCw, type Run } from '../helpers/run-cw.js'

const pkg = (await import('../../package.json', { with: { type: 'json' } })).default

const cw = (...args: string[]): Promise<Run> => runCw(args, {})

const dir = await mkdtemp(join(tmpdir(), 'cw-cli-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

t.test('--help lists only the commands that exist, --version the version', async (t) => {
  const help = await cw('--help')
  t.equal(help.code, 0)
  const commands = [...help.stdout.matchAll(/^ {2}(\w[\w-]*)/gm)].map((m) => m[1])
  t.same(commands.sort(), ['agent', 'audit', 'chain', 'console', 'decode', 'demo', 'device', 'fleet', 'gateway', 'help', 'key', 'rewards'], 'every command (and help)')
  const version = await cw('--version')
  t.equal(version.stdout.trim(), pkg.version)
  const sub = await cw('decode', '--help')
  t.match(sub.stdout, /--chain-id/)
})

t.test('decode prints a signed message and checks its signature', async (t) => {
  const device = createMemorySigner()
  const owner = createMemorySigner()
  const domain = fleetDomain({ chainId: 31337, verifyingContract: owner.address })
  const signed = await signMessage('UpdateAttestation', { domain, message: exampleMessage('UpdateAttestation', device.address), signer: device })
  const file = join(dir, 'attestation.bin')
  await writeFile(file, encodeSigned('UpdateAttestation', signed))
  const plain = await cw('decode', 'UpdateAttestation', file)
  t.equal(plain.code, 0, plain.stderr)
  const out = JSON.parse(plain.stdout) as { message: { device: string; round: string }; signature: string }
  t.equal(out.message.device, device.address)
  t.equal(out.message.round, '7')
  t.equal(out.signature, signed.signature)

  const checked = await cw('decode', 'UpdateAttestation', file, '--chain-id', '31337', '--registry', owner.address)
  t.equal(checked.code, 0)
  t.equal((JSON.parse(checked.stdout) as { valid: boolean }).valid, true, 'valid in its own domain')
  const wrongDomain = await cw('decode', 'UpdateAttestation', file, '--chain-id', '1', '--registry', owner.address)
  t.equal(wrongDomain.code, 1, 'exit 1 for a wrong signature')
  t.equal((JSON.parse(wrongDomain.stdout) as { valid: boolean }).valid, false)

  const hexFile = join(dir, 'attestation.hex')
  await writeFile(hexFile, bytesToHex(encodeSigned('UpdateAttestation', signed)))
  t.equal((await cw('decode', 'UpdateAttestation', hexFile, '--hex')).code, 0, '--hex input')
})

t.test('decode summarises a model update', async (t) => {
  const file = join(dir, 'update.bin')
  await writeFile(file, encodeUpdate([{ name: 'w', dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }], { encoding: 'int8' }))
  const run = await cw('decode', 'ModelUpdate', file)
  t.equal(run.code, 0)
  t.match(JSON.parse(run.stdout), { encoding: 'int8', tensors: [{ name: 'w', shape: [2, 2], elements: 4 }] })
})

t.test('bad input gets a typed error and a documented exit code', async (t) => {
  const garbage = join(dir, 'garbage.bin')
  await writeFile(garbage, Buffer.from('not protobuf at all'))
  const bad = await cw('decode', 'Receipt', garbage)
  t.equal(bad.code, 1)
  t.match(bad.stderr, /^error CW_DECODE: /)
  const unknown = await cw('decode', 'Nope', garbage)
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown type "Nope"/)
  t.equal((await cw('frobnicate')).code, 2, 'unknown command')
  t.equal((await cw('decode', 'Receipt', join(dir, 'missing.bin'))).code, 3, 'missing file')
  const half = await cw('decode', 'Receipt', garbage, '--chain-id', '1')
  t.equal(half.code, 1, 'the input is refused before the options are looked at')
  t.equal((await cw('decode', 'ModelUpdate', garbage, '--hex')).code, 2, 'text that is not hex')
})
