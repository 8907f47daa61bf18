// The viem account backed by a protocols Signer: what it signs recovers to the signer, and the
// hardware key stores' Signers (a key file, a PKCS#11 token in SoftHSM2) deploy, register and
// settle on the embedded chain through it.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseTransaction, recoverMessageAddress, recoverTransactionAddress, recoverTypedDataAddress, type Hex } from 'viem'
import { createMemorySigner, type Signer } from '../../../protocols/index.js'
import { isSettledModel } from '../../../protocols/contracts/index.js'
import { openFileKeyStore, openPkcs11KeyStore } from '../../../hardware/keys/index.js'
import {
  connectChain,
  deployFleet,
  MemorySettlementJournal,
  registerDevices,
  settleRound,
  signerToAccount,
} from '../../../gateway/settlement/index.js'
import { createSoftHsm } from '../../hardware/keys/softhsm.js'
import { quietLogger } from './helpers/backends.js'
import { FLEET, hash, settlementFor, treeFor } from './helpers/fixtures.js'

const PIN = '135790'
const PASSWORD = 'settlement test password'
const ENV = { CW_TEST_PIN: PIN, CW_TEST_KEY_PASSWORD: PASSWORD }
const hsm = await createSoftHsm(t)
await hsm.initToken('gateway', PIN)

t.test('what the account signs recovers to the signer', async (t) => {
  const signer = createMemorySigner()
  const account = signerToAccount({ signer })
  t.equal(account.address, signer.address)
  const message = 'counterweight'
  t.equal(await recoverMessageAddress({ message, signature: await account.signMessage({ message }) }), signer.address)
  const typed = {
    domain: { name: 'Test', version: '1', chainId: 31337 },
    types: { Ping: [{ name: 'n', type: 'uint256' }] },
    primaryType: 'Ping',
    message: { n: 7n },
  } as const
  t.equal(await recoverTypedDataAddress({ ...typed, signature: await account.signTypedData(typed) }), signer.address)
  for (const tx of [
    { chainId: 31337, type: 'eip1559', to: signer.address, nonce: 3, gas: 21_000n, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, value: 5n },
    { chainId: 31337, type: 'legacy', to: signer.address, nonce: 4, gas: 21_000n, gasPrice: 2n },
  ] as const) {
    const raw = await account.signTransaction(tx)
    t.equal(await recoverTransactionAddress({ serializedTransaction: raw as Parameters<typeof recoverTransactionAddress>[0]['serializedTransaction'] }), signer.address, `${tx.type} transaction`)
    t.equal(parseTransaction(raw).nonce, tx.nonce)
  }
  // A signer that fails makes the account fail, with the signer's error.
  const broken: Signer = { address: signer.address, keyStorage: 'memory', signDigest: async () => '0x00' as Hex }
  const rejected = await signerToAccount({ signer: broken }).signMessage({ message }).then(
    () => ({ code: 'DID_NOT_REJECT' }),
    (e: unknown) => e as Record<string, unknown>,
  )
  t.match(rejected, { code: 'CW_SIGNATURE_FORMAT' })
  const other = createMemorySigner()
  const impostor: Signer = { address: signer.address, keyStorage: 'memory', signDigest: (d) => other.signDigest(d) }
  const mismatch = await signerToAccount({ signer: impostor }).signMessage({ message }).then(
    () => ({ code: 'DID_NOT_REJECT' }),
    (e: unknown) => e as Record<string, unknown>,
  )
  t.match(mismatch, { code: 'CW_SIGNER_MISMATCH' }, 'a signature by another key is refused')
})

t.test('a key file owns the fleet and a PKCS#11 token settles its rounds', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'cw-settle-keys-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const files = await openFileKeyStore(
    { kind: 'file', directory: join(directory, 'keys'), password: { env: 'CW_TEST_KEY_PASSWORD' }, scrypt: { n: 2 ** 10, r: 8, p: 1 } },
    { env: ENV },
  )
  t.teardown(() => files.close())
  const token = await openPkcs11KeyStore({ kind: 'pkcs11', module: hsm.module, token: { label: 'gateway' }, pin: { env: 'CW_TEST_PIN' } }, { env: ENV })
  t.teardown(() => token.close())
  await files.generate('owner')
  await token.generate('gateway')
  const ownerSigner = await files.open('owner')
  const gatewaySigner = await token.open('gateway')
  const owner = signerToAccount({ signer: ownerSigner })
  const gateway = signerToAccount({ signer: gatewaySigner })

  const connection = await connectChain({ config: {}, fund: [owner.address, gateway.address], logger: quietLogger() })
  t.teardown(() => connection.close())
  t.equal(connection.embedded !== undefined, true, 'no URL: the embedded EVM')
  const fleet = await deployFleet(connection, { owner, fleet: FLEET, gateways: [gateway.address] })
  const devices = Array.from({ length: 6 }, () => createMemorySigner().address)
  await registerDevices(connection, { owner, registry: fleet.registry, devices: devices.map((device, i) => ({ device, certificateHash: hash(`c${i}`) })) })
  const s = settlementFor(1n, treeFor(1n, devices))
  const result = await settleRound(connection, { gateway, ledger: fleet.ledger, settlement: s, journal: new MemorySettlementJournal() })
  t.equal(result.status, 'settled')
  const tx = await connection.publicClient.getTransaction({ hash: result.transactionHash ?? '0x' })
  t.equal(tx.from.toLowerCase(), gatewaySigner.address.toLowerCase(), 'signed inside the token')
  t.same(await isSettledModel(connection.publicClient, { ledger: fleet.ledger, model: s.newModel }), { settled: true, round: 1n })
})
