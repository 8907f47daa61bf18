// `cw rewards claim` and `cw audit round --fleet` as a user runs them (the `cw` bin in its own
// process), against a chain reached over JSON-RPC on 127.0.0.1: the embedded EVM served with
// serveChain, or a separately started `hardhat node`. Real rounds (test/helpers/finished-round.ts)
// are settled on a freshly deployed fleet; their records and blobs sit in a directory named by sha256.
import type tap from 'tap'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { hexToBytes, keccak256, parseEther, toHex, type Address, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import {
  buildContributionTree,
  buildCumulativeTree,
  collectRewardClaims,
  contentId,
  contributionLeavesOf,
  createMemorySigner,
  decodeRoundRecord,
  encodeRoundRecord,
  EIP712_DOMAIN_NAME,
  EIP712_DOMAIN_VERSION,
  rewardLedgerAbi,
  rewardsAbi,
  signMessage,
  type FleetFileInput,
  type RoundRecord,
} from '../../../../protocols/index.js'
import { certificateHex, encryptKeystoreV3, writeDeviceBundle, writeFleetFile, type FileKeyStoreConfig } from '../../../../hardware/index.js'
import { claimRewards, cumulativeRoot, deployFleet, MemorySettlementJournal, serveChain, settleRound, signerToAccount, walletFor, type FleetContracts } from '../../../../gateway/settlement/index.js'
import { devices, fleet as FLEET_ID, owner as certOwner, PEER } from '../../../gateway/rounds/fixtures/round-fleet.js'
import { finishedRound, type FinishedRound } from '../../../helpers/finished-round.js'
import { startBackend, type Backend, type BackendName } from './backends.js'

type Tap = Parameters<Parameters<typeof tap.test>[0]>[0]

const bin = fileURLToPath(new URL('../../../../bin/cw.js', import.meta.url))
const PASSWORD_ENV = 'CW_TEST_CLAIM_KEY_PASSWORD'
const PASSWORD = 'correct horse battery staple'
const FAST_SCRYPT = { n: 2 ** 10, r: 8, p: 1 }
const ZERO: Hex = `0x${'00'.repeat(32)}`
const deviceKey = (i: number): Hex => `0x${(0x1000 + i).toString(16).padStart(64, '0')}`

interface CwResult {
  code: number
  stdout: string
  stderr: string
}

async function cw(...args: string[]): Promise<CwResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { env: { ...process.env, [PASSWORD_ENV]: PASSWORD } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

interface ClaimJson {
  device: Address
  amount: string
  claimed: { round: string; score: string }[]
  tx: Hex | null
  skipped: { round: string; reason: string }[]
  message?: string
}

interface AuditJson {
  ok: boolean
  items: { item: string; ok: boolean; detail: string }[]
}

const rewardOf = (record: RoundRecord, device: Address): bigint =>
  record.contributions.find((c) => c.attestation.message.device.toLowerCase() === device.toLowerCase())?.reward ?? 0n

export async function cliChainSuite(t: Tap, name: BackendName): Promise<void> {
  const backend: Backend = await startBackend(name)
  t.teardown(() => backend.stop())
  const { connection, owner, gateway } = backend
  const client = connection.publicClient
  let url = backend.node?.url
  if (url === undefined) {
    if (connection.embedded === undefined) throw new Error('no embedded chain')
    const served = await serveChain({ chain: connection.embedded })
    t.teardown(() => served.close())
    url = served.url
  }
  const dir = await mkdtemp(join(tmpdir(), 'cw-claim-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const blobs = join(dir, 'published')
  await mkdir(blobs)
  const putBlob = (bytes: Uint8Array) => writeFile(join(blobs, contentId(bytes)), bytes)

  // Keys: device 0's own key in a file key store (it pays for its claim), and a separate payer.
  const keyDir = join(dir, 'keys')
  await mkdir(keyDir, { mode: 0o700 })
  const keyStore: FileKeyStoreConfig = { kind: 'file', directory: keyDir, password: { env: PASSWORD_ENV }, scrypt: FAST_SCRYPT }
  await writeFile(join(keyDir, 'device.json'), JSON.stringify(await encryptKeystoreV3({ privateKey: hexToBytes(deviceKey(0)), password: PASSWORD, scrypt: FAST_SCRYPT })))
  const payerKey: Hex = `0x${'5a'.repeat(32)}`
  await writeFile(join(keyDir, 'payer.json'), JSON.stringify(await encryptKeystoreV3({ privateKey: hexToBytes(payerKey), password: PASSWORD, scrypt: FAST_SCRYPT })))
  const keyStoreFile = join(dir, 'key-store.json')
  await writeFile(keyStoreFile, JSON.stringify(keyStore))
  const payer = privateKeyToAddress(payerKey)
  const [d0, d1, d2] = devices.map((d) => d.address) as [Address, Address, Address, ...Address[]]
  const wallet = walletFor(connection, owner)
  for (const to of [d0, payer]) {
    const hash = await wallet.sendTransaction({ account: owner, chain: connection.chain, to, value: parseEther('1') })
    await client.waitForTransactionReceipt({ hash, pollingInterval: 50 })
  }

  /** Deploys a fleet and writes its fleet.json and device 0's bundle beside it. */
  const deploy = async (label: string, leaves: FleetContracts['leaves'] = 'per-round'): Promise<{ contracts: FleetContracts; fleetFile: string; bundleFile: string }> => {
    const contracts = await deployFleet(connection, { owner, fleet: FLEET_ID, gateways: [gateway.address], leaves })
    const fleetFile = join(dir, `${label}-fleet.json`)
    const fleetJson: FleetFileInput = {
      version: 1,
      fleet: FLEET_ID,
      name: `claims ${label}`,
      chain: { rpcUrl: url, chainId: connection.chain.id, confirmations: 1 },
      contracts: { registry: contracts.registry, ledger: contracts.ledger, rewards: contracts.rewards, leaves: contracts.leaves, deployedAt: contracts.deployedAt.toString() },
      owner: owner.address,
      gateways: [{ address: gateway.address, multiaddrs: [] }],
      domain: { name: EIP712_DOMAIN_NAME, version: EIP712_DOMAIN_VERSION, chainId: connection.chain.id, verifyingContract: contracts.registry },
    }
    await writeFleetFile(fleetFile, fleetJson)
    const domain = fleetJson.domain
    const certificate = await signMessage('DeviceCertificate', {
      domain,
      signer: certOwner,
      message: { device: d0, peerId: PEER, fleet: FLEET_ID, hardwareModel: 'sim', keyStorage: 'file', capabilities: [], validFrom: 0n, validUntil: 2n ** 40n, serial: 'SIM-0' },
    })
    const bundleFile = join(dir, `${label}-device.json`)
    await writeDeviceBundle(bundleFile, {
      version: 1,
      fleet: fleetJson,
      device: d0,
      peerId: PEER,
      serial: 'SIM-0',
      certificate: certificateHex(certificate),
      keyStore,
      keyLabel: 'device',
      transportKeyDir: join(dir, 'transport'),
    })
    return { contracts, fleetFile, bundleFile }
  }

  const settle = async (contracts: FleetContracts, record: RoundRecord, recordHash: Hex, over: { contributionsRoot?: Hex } = {}) =>
    settleRound(connection, {
      gateway,
      ledger: contracts.ledger,
      journal: new MemorySettlementJournal(),
      fromBlock: contracts.deployedAt,
      settlement: {
        fleet: record.fleet,
        round: record.round,
        parentModel: record.parentModel,
        newModel: record.newModel,
        contributionsRoot: over.contributionsRoot ?? record.contributionsRoot,
        rewardTotal: record.rewardTotal,
        recordHash,
      },
    })
  const balance = (contracts: FleetContracts, a: Address) => client.readContract({ address: contracts.rewards, abi: rewardsAbi, functionName: 'balanceOf', args: [a] })
  const nonce = (a: Address) => client.getTransactionCount({ address: a, blockTag: 'latest' })

  // The honest fleet: round 0 is a genesis document (no contributions), rounds 1 and 2 real rounds.
  const honest = await deploy('honest')
  const rounds: FinishedRound[] = [await finishedRound(1n), await finishedRound(2n)]
  for (const r of rounds) for (const bytes of r.blobs.values()) await putBlob(bytes)
  const records = rounds.map((r) => decodeRoundRecord(r.recordBytes))
  const genesis = new TextEncoder().encode(JSON.stringify({ kind: 'counterweight-genesis', version: 1, fleet: FLEET_ID, round: '0', model: records[0]?.parentModel }))
  await putBlob(genesis)
  await settleRound(connection, {
    gateway,
    ledger: honest.contracts.ledger,
    journal: new MemorySettlementJournal(),
    settlement: { fleet: FLEET_ID, round: 0n, parentModel: ZERO, newModel: records[0]?.parentModel ?? ZERO, contributionsRoot: keccak256(toHex('genesis')), rewardTotal: 0n, recordHash: contentId(genesis) },
  })
  for (const [i, r] of rounds.entries()) await settle(honest.contracts, records[i] as RoundRecord, r.recordHash)

  await t.test('cw rewards claim --config: every unclaimed round in one transaction, then nothing to claim', async (t) => {
    const expected = records.reduce((sum, r) => sum + rewardOf(r, d0), 0n)
    t.ok(expected > 0n, 'device 0 earned something')
    const first = await cw('rewards', 'claim', '--config', honest.bundleFile, '--fleet', honest.fleetFile, '--records', blobs, '--json')
    t.equal(first.code, 0, first.stderr)
    const paid = JSON.parse(first.stdout) as ClaimJson
    t.equal(paid.device, d0)
    t.equal(paid.amount, expected.toString())
    t.same(paid.claimed.map((c) => c.round), ['1', '2'])
    t.same(paid.claimed.map((c) => c.score), records.map((r) => rewardOf(r, d0).toString()))
    t.match(paid.tx, /^0x[0-9a-f]{64}$/)
    t.match(paid.skipped, [{ round: '0', reason: 'not-a-round-record' }])
    const receipt = await client.getTransactionReceipt({ hash: paid.tx as Hex })
    t.equal(receipt.from.toLowerCase(), d0.toLowerCase(), "the bundle's key paid")
    t.equal(await balance(honest.contracts, d0), expected, 'the device holds its reward')
    for (const round of [1n, 2n]) t.equal(await client.readContract({ address: honest.contracts.rewards, abi: rewardsAbi, functionName: 'isClaimed', args: [d0, round] }), true)

    const again = await cw('rewards', 'claim', '--config', honest.bundleFile, '--fleet', honest.fleetFile, '--records', blobs, '--json')
    t.equal(again.code, 0, 'nothing to claim is no failure')
    const nothing = JSON.parse(again.stdout) as ClaimJson
    t.match(nothing, { device: d0, amount: '0', claimed: [], tx: null, message: 'nothing to claim' })
    t.match(nothing.skipped, [{ round: '0' }, { round: '1', reason: 'already-claimed' }, { round: '2', reason: 'already-claimed' }])
    t.equal(await balance(honest.contracts, d0), expected, 'paid once')
    const text = await cw('rewards', 'claim', '--config', honest.bundleFile, '--records', blobs)
    t.equal(text.code, 0)
    t.match(text.stdout, /nothing to claim/, "the bundle's own fleet is used without --fleet")
  })

  await t.test('cw rewards claim --device with a key-store file: anyone pays, the device is paid', async (t) => {
    const expected = records.reduce((sum, r) => sum + rewardOf(r, d1), 0n)
    const dry = await cw('rewards', 'claim', '--device', d1, '--fleet', honest.fleetFile, '--records', blobs, '--dry-run', '--json')
    t.equal(dry.code, 0, dry.stderr)
    t.match(JSON.parse(dry.stdout), { amount: expected.toString(), tx: null, dryRun: true })
    t.equal(await balance(honest.contracts, d1), 0n, 'a dry run sends nothing')
    const res = await cw('rewards', 'claim', '--device', d1, '--fleet', honest.fleetFile, '--records', blobs, '--key-store', keyStoreFile, '--key-label', 'payer', '--json')
    t.equal(res.code, 0, res.stderr)
    const paid = JSON.parse(res.stdout) as ClaimJson
    t.match(paid, { device: d1, amount: expected.toString() })
    t.equal((await client.getTransactionReceipt({ hash: paid.tx as Hex })).from.toLowerCase(), payer.toLowerCase())
    t.equal(await balance(honest.contracts, d1), expected)
    t.equal(await balance(honest.contracts, payer), 0n, 'the payer gets nothing')
    // Usage errors, before any chain work (independent runs, started together).
    const badStore = join(dir, 'bad-key-store.json')
    await writeFile(badStore, JSON.stringify({ kind: 'file', directory: keyDir, password: 'a literal password' }))
    const [noKey, notAddress, noDevice, noFleet, noLabel, literal] = await Promise.all([
      cw('rewards', 'claim', '--device', d1, '--fleet', honest.fleetFile, '--records', blobs),
      cw('rewards', 'claim', '--device', 'nope', '--fleet', honest.fleetFile, '--records', blobs, '--dry-run'),
      cw('rewards', 'claim', '--fleet', honest.fleetFile, '--records', blobs, '--dry-run'),
      cw('rewards', 'claim', '--device', d1, '--records', blobs, '--dry-run'),
      cw('rewards', 'claim', '--device', d1, '--fleet', honest.fleetFile, '--records', blobs, '--key-store', keyStoreFile),
      cw('rewards', 'claim', '--device', d1, '--fleet', honest.fleetFile, '--records', blobs, '--key-store', badStore, '--key-label', 'payer'),
    ])
    t.equal(noKey.code, 2, 'no key to pay with')
    t.equal(notAddress.code, 2, 'not an address')
    t.equal(noDevice.code, 2, 'no device')
    t.equal(noFleet.code, 2, 'no fleet')
    t.equal(noLabel.code, 2, '--key-store without --key-label')
    t.equal(literal.code, 1)
    t.match(literal.stderr, /CW_CONFIG.*password/, 'a key-store file with a password written into it is refused, naming the field')
  })

  await t.test('cw rewards claim paid by an account without ether: one error line with a CW_CHAIN_ code, the whole error only with --verbose', async (t) => {
    const brokeKey: Hex = `0x${'6b'.repeat(32)}`
    await writeFile(join(keyDir, 'broke.json'), JSON.stringify(await encryptKeystoreV3({ privateKey: hexToBytes(brokeKey), password: PASSWORD, scrypt: FAST_SCRYPT })))
    const args = ['rewards', 'claim', '--device', d2, '--fleet', honest.fleetFile, '--records', blobs, '--key-store', keyStoreFile, '--key-label', 'broke']
    const [plain, verbose] = await Promise.all([cw(...args), cw(...args, '--verbose')])
    t.equal(plain.code, 1, plain.stderr)
    const lines = plain.stderr.trim().split('\n')
    t.equal(lines.length, 1, 'one line')
    t.match(lines[0], /^error CW_CHAIN_INSUFFICIENT_FUNDS: the sending account cannot pay for gas: .*funds/i)
    t.equal(verbose.code, 1)
    t.ok(verbose.stderr.startsWith(lines[0] ?? '-'), '--verbose starts with the same line')
    t.ok(verbose.stderr.split('\n').length > 10, '--verbose adds the whole error')
    t.equal(await balance(honest.contracts, d2), 0n, 'nothing was claimed')
  })

  await t.test('cw audit round --fleet: passes on honest rounds, names the item when the record is tampered after settlement', async (t) => {
    for (const r of rounds) {
      const res = await cw('audit', 'round', r.round.toString(), '--fleet', honest.fleetFile, '--blobs', blobs, '--json')
      t.equal(res.code, 0, `round ${r.round} passes`, res.code === 0 ? {} : { stdout: res.stdout, stderr: res.stderr })
      const report = JSON.parse(res.stdout) as AuditJson
      t.equal(report.ok, true)
      const chainItems = report.items.filter((i) => i.item.startsWith('chain: ')).map((i) => i.item)
      t.same(chainItems, ['chain: settled', 'chain: record hash', 'chain: fleet', 'chain: parent model', 'chain: new model', 'chain: contributions root', 'chain: reward total'])
    }
    const rpcOverride = await cw('audit', 'round', '1', '--fleet', honest.fleetFile, '--rpc', url, '--blobs', blobs, '--json')
    t.equal(rpcOverride.code, 0, '--rpc overrides the fleet file')

    // Round 0 is the genesis document; a round not settled yet has its own exit code (6), not tampering's (1).
    const [genesisAudit, genesisText, notSettled, unsettledText] = await Promise.all([
      cw('audit', 'round', '0', '--fleet', honest.fleetFile, '--blobs', blobs, '--json'),
      cw('audit', 'round', '0', '--fleet', honest.fleetFile, '--blobs', blobs),
      cw('audit', 'round', '9', '--fleet', honest.fleetFile, '--blobs', blobs, '--json'),
      cw('audit', 'round', '9', '--fleet', honest.fleetFile, '--blobs', blobs),
    ])
    t.equal(genesisAudit.code, 0, genesisAudit.stderr)
    t.match(JSON.parse(genesisAudit.stdout), { ok: true, kind: 'genesis', settled: true, items: [{ item: 'chain: settled', ok: true }, { item: 'genesis document', ok: true }, { item: 'round number', ok: true }, { item: 'chain: record hash', ok: true }, { item: 'chain: fleet', ok: true }, { item: 'chain: new model', ok: true }] })
    t.match(genesisText.stdout, /round 0 \(genesis: the fleet's initial model 0x[0-9a-f]{64}\): every item matches/)
    t.equal(notSettled.code, 6, 'not settled: exit 6')
    t.match(JSON.parse(notSettled.stdout), { ok: false, kind: 'round', settled: false, items: [{ item: 'chain: settled', ok: false }] })
    t.match(unsettledText.stdout, /UNSETTLED\s+chain: settled: .*\nround 9: not settled on chain \(yet\)/)

    // The record is rewritten in place after settlement: a contribution's reward doubled.
    const r1 = rounds[0] as FinishedRound
    const record = records[0] as RoundRecord
    const first = record.contributions[0]
    if (first === undefined) throw new Error('no contribution')
    const tampered = encodeRoundRecord({ ...record, contributions: [{ ...first, reward: first.reward * 2n }, ...record.contributions.slice(1)] })
    const file = join(blobs, r1.recordHash.toLowerCase())
    await writeFile(file, tampered)
    t.teardown(() => writeFile(file, r1.recordBytes))
    const bad = await cw('audit', 'round', '1', '--fleet', honest.fleetFile, '--blobs', blobs, '--json')
    t.equal(bad.code, 1, 'exit 1 on a mismatch')
    const report = JSON.parse(bad.stdout) as AuditJson
    const failed = report.items.filter((i) => !i.ok).map((i) => i.item)
    t.ok(failed.includes('chain: record hash'), 'the record hash differs from the settled one')
    t.ok(failed.includes(`contribution ${first.attestation.message.device}: score`), 'the tampered score is named')

    // A claim from the tampered directory is refused, and nothing is sent.
    const before = await nonce(d0)
    const refused = await cw('rewards', 'claim', '--device', d2, '--fleet', honest.fleetFile, '--records', blobs, '--key-store', keyStoreFile, '--key-label', 'device', '--json')
    t.equal(refused.code, 1)
    t.match(refused.stderr, /error CW_BLOB_HASH_MISMATCH/)
    t.equal(await nonce(d0), before, 'no transaction was sent')
    t.equal(await balance(honest.contracts, d2), 0n)
    await writeFile(file, r1.recordBytes)

    const [unsettled, rpcAlone] = await Promise.all([cw('audit', 'round', '9', '--fleet', honest.fleetFile, '--blobs', blobs), cw('audit', 'round', '1', '--blobs', blobs, '--rpc', url)])
    t.equal(unsettled.code, 6, 'not settled is exit 6, not a mismatch')
    t.match(unsettled.stdout, /UNSETTLED {2}chain: settled: round 9 is not settled/)
    t.equal(rpcAlone.code, 2, '--rpc without --fleet')
  })

  await t.test('a settlement whose root the record does not rebuild: the claim is refused with a typed error, the audit names the root', async (t) => {
    const crooked = await deploy('crooked')
    const r3 = await finishedRound(3n)
    for (const bytes of r3.blobs.values()) await putBlob(bytes)
    const record = decodeRoundRecord(r3.recordBytes)
    // The gateway settled a root that pays device 2 more than the record says.
    const leaves = contributionLeavesOf(record).map((l) => (l.device.toLowerCase() === d2.toLowerCase() ? { ...l, score: l.score * 10n } : l))
    const inflatedRoot = buildContributionTree(leaves).root
    await settle(crooked.contracts, record, r3.recordHash, { contributionsRoot: inflatedRoot })
    const before = await nonce(d0)
    const refused = await cw('rewards', 'claim', '--config', crooked.bundleFile, '--fleet', crooked.fleetFile, '--records', blobs, '--json')
    t.equal(refused.code, 1)
    t.match(refused.stderr, /error CW_RECORD_CHAIN_MISMATCH: round 3: the record's contributionsRoot/)
    t.equal(await nonce(d0), before, 'nothing was sent')
    t.equal(await balance(crooked.contracts, d0), 0n)
    const audit = await cw('audit', 'round', '3', '--fleet', crooked.fleetFile, '--blobs', blobs, '--json')
    t.equal(audit.code, 1)
    const failed = (JSON.parse(audit.stdout) as AuditJson).items.filter((i) => !i.ok).map((i) => i.item)
    t.same(failed, ['chain: contributions root'], 'only the root differs, and it is named')

    // The library refuses the same way, and a proof that does not verify never leaves the client:
    // the simulation reverts with the contract's custom error and no transaction is sent.
    await t.rejects(
      collectRewardClaims(client, { ledger: crooked.contracts.ledger, rewards: crooked.contracts.rewards, device: d2, fromBlock: crooked.contracts.deployedAt, fetchRecord: async (h) => readFile(join(blobs, h.toLowerCase())).catch(() => undefined) }),
      { code: 'CW_RECORD_CHAIN_MISMATCH', details: { round: '3', field: 'contributionsRoot', onChain: inflatedRoot } },
    )
    const honestTree = buildContributionTree(contributionLeavesOf(record))
    const leaf = honestTree.leaves.find((l) => l.device.toLowerCase() === d2.toLowerCase())
    if (leaf === undefined) throw new Error('no leaf')
    const payerAccount = signerToAccount({ signer: createMemorySigner({ privateKey: payerKey }) })
    const payerNonce = await nonce(payer)
    await t.rejects(claimRewards(connection, { account: payerAccount, rewards: crooked.contracts.rewards, device: d2, claims: [{ leaf, proof: honestTree.proof(d2) }] }), {
      code: 'CW_CHAIN_INVALID_PROOF',
      details: { errorName: 'InvalidProof', args: ['3', d2] },
    })
    t.equal(await nonce(payer), payerNonce, 'the refused claim was never sent')
  })

  await t.test('a cumulative fleet: one claim pays the total to date; the audit rebuilds the totals and flags a lowered one', async (t) => {
    const fleet = await deploy('cumulative', 'cumulative')
    t.equal(fleet.contracts.ledger, fleet.contracts.registry)
    const fetchRecord = async (h: Hex) => readFile(join(blobs, h.toLowerCase())).catch(() => undefined)
    await settleRound(connection, {
      gateway,
      ledger: fleet.contracts.ledger,
      journal: new MemorySettlementJournal(),
      settlement: { fleet: FLEET_ID, round: 0n, parentModel: ZERO, newModel: records[0]?.parentModel ?? ZERO, contributionsRoot: keccak256(toHex('genesis')), rewardTotal: 0n, recordHash: contentId(genesis) },
    })
    // What a gateway settles: the root of every device's total after the round (gateway code).
    for (const [i, r] of rounds.entries()) {
      const record = records[i] as RoundRecord
      const { root } = await cumulativeRoot(client, { ledger: fleet.contracts.ledger, fromBlock: fleet.contracts.deployedAt, fetchRecord, record })
      await settle(fleet.contracts, record, r.recordHash, { contributionsRoot: root })
    }
    // A gateway that lacks an earlier round's record cannot rebuild the totals: it settles nothing.
    const lacking = (h: Hex) => (h.toLowerCase() === rounds[0]?.recordHash.toLowerCase() ? Promise.resolve(undefined) : fetchRecord(h))
    await t.rejects(cumulativeRoot(client, { ledger: fleet.contracts.ledger, fromBlock: fleet.contracts.deployedAt, fetchRecord: lacking, record: decodeRoundRecord((rounds[1] as FinishedRound).recordBytes) }), {
      code: 'CW_CUMULATIVE_TOTALS',
      details: { round: '2', problem: /record of round 1/ },
    })
    const total = (d: Address, through: number) => records.slice(0, through).reduce((sum, r) => sum + rewardOf(r, d), 0n)
    const claimed = await cw('rewards', 'claim', '--config', fleet.bundleFile, '--records', blobs, '--json')
    t.equal(claimed.code, 0, claimed.stderr)
    const paid = JSON.parse(claimed.stdout) as { amount: string; round: string; cumulativeAmount: string; tx: Hex; gasUsed: string; skipped: { round: string; reason: string }[] }
    t.match(paid, { leaves: 'cumulative', amount: total(d0, 2).toString(), round: '2', cumulativeAmount: total(d0, 2).toString(), alreadyClaimed: '0' })
    t.same(paid.skipped, [{ round: '0', reason: 'not-a-round-record' }])
    t.equal(await client.readContract({ address: fleet.contracts.ledger, abi: rewardLedgerAbi, functionName: 'balanceOf', args: [d0] }), total(d0, 2), 'two rounds in one claim')
    const again = await cw('rewards', 'claim', '--config', fleet.bundleFile, '--records', blobs, '--json')
    t.equal(again.code, 0)
    t.match(JSON.parse(again.stdout), { amount: '0', tx: null, message: /nothing to claim/ })

    const honestAudit = await cw('audit', 'round', '2', '--fleet', fleet.fleetFile, '--blobs', blobs, '--json')
    t.equal(honestAudit.code, 0, honestAudit.stdout)
    const items = (JSON.parse(honestAudit.stdout) as AuditJson).items.map((i) => i.item)
    t.ok(items.includes('chain: cumulative rewards root'), 'the cumulative root is checked')
    t.notOk(items.includes('chain: contributions root'), "the record's own contributions root is not what this fleet settles")

    // Round 3 is settled with device 1's total lowered by its gateway: the ledger takes any root,
    // the audit rebuilds the totals from the records and names this one.
    const r3 = await finishedRound(3n)
    for (const bytes of r3.blobs.values()) await putBlob(bytes)
    const record3 = decodeRoundRecord(r3.recordBytes)
    const honest3 = await cumulativeRoot(client, { ledger: fleet.contracts.ledger, fromBlock: fleet.contracts.deployedAt, fetchRecord, record: record3 })
    const lowered = buildCumulativeTree(honest3.totals.map((l) => (l.device.toLowerCase() === d1.toLowerCase() ? { ...l, cumulativeAmount: 1n } : l)))
    await settle(fleet.contracts, record3, r3.recordHash, { contributionsRoot: lowered.root })
    const audit = await cw('audit', 'round', '3', '--fleet', fleet.fleetFile, '--blobs', blobs, '--json')
    t.equal(audit.code, 1, 'exit 1: a mismatch')
    const failed = (JSON.parse(audit.stdout) as AuditJson).items.filter((i) => !i.ok)
    t.same(failed.map((i) => i.item), ['chain: cumulative rewards root'])
    t.match(failed[0]?.detail, /settled other cumulative totals/)
    // A claim proves against the last honest root instead, and pays device 1 all it earned to it.
    const dry = await cw('rewards', 'claim', '--device', d1, '--fleet', fleet.fleetFile, '--records', blobs, '--dry-run', '--json')
    t.equal(dry.code, 0, dry.stderr)
    t.match(JSON.parse(dry.stdout), { round: '2', amount: total(d1, 2).toString(), skipped: [{ round: '0' }, { round: '3', reason: 'root-mismatch' }] })
  })
}
