// The settlement conformance suite: the same checks against every chain backend (the embedded
// EVM and a separately started node). Access control, each custom error decoded into its typed
// error, settlement idempotence across a crash, claims, sweep and revocation at the verifier.
import type tap from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, custom, type Address, type EIP1193RequestFn } from 'viem'
import { createMemorySigner, fleetDomain } from '../../../../protocols/index.js'
import { compareSettlement, fleetRegistryAbi, isSettledModel, readRoundSettlement, rewardsAbi, roundLedgerAbi } from '../../../../protocols/contracts/index.js'
import {
  ChainRegistry,
  claimRewards,
  deployFleet,
  FileSettlementJournal,
  MemorySettlementJournal,
  registerDevices,
  revokeDevices,
  setGateway,
  settleRound,
  writeAndConfirm,
  type ChainConnection,
  type DeviceRegistration,
  type FleetContracts,
} from '../../../../gateway/settlement/index.js'
import { InMemoryRegistry, verifySubmission, type VerificationContext } from '../../../../gateway/verify/index.js'
import { startBackend, type Backend, type BackendName } from './backends.js'
import { BASE_MODEL, FLEET, hash, NOW, PEER_ID, settlementFor, submissionFor, treeFor } from './fixtures.js'

export type Tap = Parameters<Parameters<typeof tap.test>[0]>[0]

const CLAIM_EXPIRY = 3600n

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  return { code: 'DID_NOT_REJECT' }
}

const devicesOf = (n: number): Address[] => Array.from({ length: n }, () => createMemorySigner().address)

async function roundSettledEvents(connection: ChainConnection, ledger: Address, round: bigint) {
  return connection.publicClient.getContractEvents({ address: ledger, abi: roundLedgerAbi, eventName: 'RoundSettled', args: { round }, fromBlock: 'earliest', toBlock: 'latest' })
}

/** A connection whose transport lets a test intercept requests (to "crash" around a send). */
function intercepted(connection: ChainConnection, hook: (method: string) => 'forward' | 'crash-after' | 'crash-before', abort: AbortController): ChainConnection {
  const request = (async ({ method, params }: { method: string; params?: unknown }) => {
    const action = hook(method)
    if (action === 'crash-before') {
      abort.abort(new Error('gateway crashed before the transaction reached the node'))
      throw new Error('crashed')
    }
    const result = await connection.publicClient.request({ method, params } as Parameters<typeof connection.publicClient.request>[0])
    if (action === 'crash-after') abort.abort(new Error('gateway crashed after sending'))
    return result
  }) as EIP1193RequestFn
  const transport = custom({ request })
  return { ...connection, transport, publicClient: createPublicClient({ chain: connection.chain, transport, pollingInterval: 50 }) }
}

export async function settlementSuite(t: Tap, name: BackendName): Promise<void> {
  const backend: Backend = await startBackend(name)
  t.teardown(() => backend.stop())
  const { connection, owner, gateway, stranger } = backend
  const client = connection.publicClient
  const fleet: FleetContracts = await deployFleet(connection, { owner, fleet: FLEET, gateways: [gateway.address], claimExpirySeconds: CLAIM_EXPIRY, leaves: 'per-round' })

  t.test('deployment binds the contracts together', async (t) => {
    t.equal(await client.readContract({ address: fleet.registry, abi: fleetRegistryAbi, functionName: 'owner' }), owner.address)
    t.equal(await client.readContract({ address: fleet.registry, abi: fleetRegistryAbi, functionName: 'fleet' }), FLEET)
    t.equal(await client.readContract({ address: fleet.ledger, abi: roundLedgerAbi, functionName: 'registry' }), fleet.registry)
    t.equal(await client.readContract({ address: fleet.rewards, abi: rewardsAbi, functionName: 'ledger' }), fleet.ledger)
    t.equal(await client.readContract({ address: fleet.registry, abi: fleetRegistryAbi, functionName: 'isGateway', args: [gateway.address] }), true)
    t.equal(await client.readContract({ address: fleet.registry, abi: fleetRegistryAbi, functionName: 'isGateway', args: [stranger.address] }), false)
    const domain = fleetDomain({ chainId: connection.chain.id, verifyingContract: fleet.registry })
    t.equal(domain.verifyingContract, fleet.registry, "the registry is the fleet's EIP-712 verifying contract")
  })

  t.test('access control: only the owner registers, revokes and authorises; only a gateway settles', async (t) => {
    const [d] = devicesOf(1) as [Address]
    const register = rejection(
      writeAndConfirm(connection, { account: stranger, address: fleet.registry, abi: fleetRegistryAbi, functionName: 'registerDevices', args: [[d], [hash('cert')]] }),
    )
    t.match(await register, { code: 'CW_CHAIN_NOT_OWNER', name: 'NotOwnerError', details: { errorName: 'OwnableUnauthorizedAccount', args: [stranger.address] } })
    t.match(await rejection(registerDevices(connection, { owner: stranger, registry: fleet.registry, devices: [{ device: d, certificateHash: hash('c') }] })), {
      code: 'CW_CHAIN_NOT_OWNER',
    })
    t.match(await rejection(revokeDevices(connection, { owner: stranger, registry: fleet.registry, devices: [d] })), { code: 'CW_CHAIN_NOT_OWNER' })
    t.match(await rejection(setGateway(connection, { owner: stranger, registry: fleet.registry, gateway: stranger.address, authorised: true })), {
      code: 'CW_CHAIN_NOT_OWNER',
    })
    const tree = treeFor(100n, devicesOf(3))
    const journal = new MemorySettlementJournal()
    t.match(await rejection(settleRound(connection, { gateway: stranger, ledger: fleet.ledger, settlement: settlementFor(100n, tree), journal })), {
      code: 'CW_CHAIN_NOT_GATEWAY',
      name: 'NotGatewayError',
    })
    t.equal(await journal.get(100n), undefined, 'nothing was journalled or sent')
    t.equal((await client.readContract({ address: fleet.ledger, abi: roundLedgerAbi, functionName: 'settlementOf', args: [100n] })).settledAt, 0n)
    // The owner can withdraw a gateway's authorisation.
    await setGateway(connection, { owner, registry: fleet.registry, gateway: stranger.address, authorised: true })
    await setGateway(connection, { owner, registry: fleet.registry, gateway: stranger.address, authorised: false })
    t.equal(await client.readContract({ address: fleet.registry, abi: fleetRegistryAbi, functionName: 'isGateway', args: [stranger.address] }), false)
  })

  t.test('devices register in batches, idempotently; revocation is final', async (t) => {
    const devices = devicesOf(25).map((device, i) => ({ device, certificateHash: hash(`cert-${i}`) }))
    const progress: number[] = []
    const first = await registerDevices(connection, { owner, registry: fleet.registry, devices, batchSize: 10, onProgress: (n) => progress.push(n) })
    t.equal(first.registered.length, 25)
    t.equal(first.receipts.length, 3, 'three batches of at most 10')
    t.same(progress, [10, 20, 25])
    const again = await registerDevices(connection, { owner, registry: fleet.registry, devices, batchSize: 10 })
    t.same([again.registered.length, again.skipped.length, again.receipts.length], [0, 25, 0], 'a repeated run sends nothing')
    const [a, b] = devices as [DeviceRegistration, DeviceRegistration, ...DeviceRegistration[]]
    t.equal(await client.readContract({ address: fleet.registry, abi: fleetRegistryAbi, functionName: 'certificateHashOf', args: [a.device] }), hash('cert-0'))
    await revokeDevices(connection, { owner, registry: fleet.registry, devices: [a.device] })
    t.equal(await client.readContract({ address: fleet.registry, abi: fleetRegistryAbi, functionName: 'status', args: [a.device] }), 2)
    t.match(await rejection(revokeDevices(connection, { owner, registry: fleet.registry, devices: [a.device] })), { code: 'CW_CHAIN_DEVICE_REVOKED' })
    t.match(
      await rejection(
        writeAndConfirm(connection, { account: owner, address: fleet.registry, abi: fleetRegistryAbi, functionName: 'registerDevices', args: [[a.device], [hash('again')]] }),
      ),
      { code: 'CW_CHAIN_DEVICE_REVOKED', details: { errorName: 'DeviceIsRevoked' } },
      'a revoked device cannot be registered again',
    )
    t.match(
      await rejection(
        writeAndConfirm(connection, { account: owner, address: fleet.registry, abi: fleetRegistryAbi, functionName: 'registerDevices', args: [[b.device], [hash('again')]] }),
      ),
      { code: 'CW_CHAIN_DEVICE_ALREADY_REGISTERED' },
    )
    t.match(await rejection(revokeDevices(connection, { owner, registry: fleet.registry, devices: devicesOf(1) })), { code: 'CW_CHAIN_DEVICE_NOT_REGISTERED' })
    t.match(
      await rejection(writeAndConfirm(connection, { account: owner, address: fleet.registry, abi: fleetRegistryAbi, functionName: 'registerDevices', args: [[], []] })),
      { code: 'CW_CHAIN_BAD_ARGUMENT', details: { errorName: 'EmptyBatch' } },
    )
    t.match(
      await rejection(
        writeAndConfirm(connection, { account: owner, address: fleet.registry, abi: fleetRegistryAbi, functionName: 'registerDevices', args: [devicesOf(2), [hash('x')]] }),
      ),
      { code: 'CW_CHAIN_BAD_ARGUMENT', details: { errorName: 'LengthMismatch', args: ['2', '1'] } },
    )
    // Bad input is refused before anything is sent.
    t.match(await rejection(registerDevices(connection, { owner, registry: fleet.registry, devices: [b, b] })), { code: 'CW_INVALID_ARGUMENT', details: { field: 'devices.1.device' } })
    t.match(await rejection(registerDevices(connection, { owner, registry: fleet.registry, devices: [{ device: b.device, certificateHash: `0x${'00'.repeat(32)}` }] })), {
      code: 'CW_INVALID_ARGUMENT',
      details: { field: 'devices.0.certificateHash' },
    })
    t.match(await rejection(registerDevices(connection, { owner, registry: fleet.registry, devices, batchSize: 0 })), { code: 'CW_INVALID_ARGUMENT', details: { field: 'batchSize' } })
  })

  t.test('the chain-backed registry drives the verifier: a revoked device is refused', async (t) => {
    const ownerSigner = createMemorySigner()
    const device = createMemorySigner()
    const other = createMemorySigner()
    await registerDevices(connection, {
      owner,
      registry: fleet.registry,
      devices: [
        { device: device.address, certificateHash: hash('d') },
        { device: other.address, certificateHash: hash('o') },
      ],
    })
    const registry = new ChainRegistry({ client, registry: fleet.registry })
    t.equal(await registry.status(device.address), 'registered')
    t.equal(await registry.status(createMemorySigner().address), 'unknown')
    t.match(await rejection(registry.status('0x1234')), { code: 'CW_INVALID_ARGUMENT', details: { field: 'device' } })
    t.match(await rejection(new ChainRegistry({ client, registry: fleet.ledger }).status(device.address)), { code: 'CW_CONTRACT_READ' }, 'a contract that is no registry')
    const domain = fleetDomain({ chainId: connection.chain.id, verifyingContract: fleet.registry })
    const context: VerificationContext = {
      domain,
      fleet: FLEET,
      owner: ownerSigner.address,
      registry,
      round: { round: 3n, open: true, baseModel: BASE_MODEL },
      model: [{ name: 'w', shape: [2] }],
      limits: { maxNorm: 1, minSamples: 10, maxSamples: 10_000, maxAgeSeconds: 600, maxSkewSeconds: 30 },
      seen: async () => false,
      now: () => NOW,
    }
    const before = await verifySubmission(await submissionFor(domain, ownerSigner, device), PEER_ID, context)
    t.equal(before.accepted, true, 'accepted while registered')
    await revokeDevices(connection, { owner, registry: fleet.registry, devices: [device.address] })
    t.equal(await registry.status(device.address), 'revoked')
    const after = await verifySubmission(await submissionFor(domain, ownerSigner, device), PEER_ID, context)
    t.match(after, { accepted: false, reason: 'revoked' }, 'refused once revoked on chain')
    const unregistered = await verifySubmission(await submissionFor(domain, ownerSigner, createMemorySigner()), PEER_ID, context)
    t.match(unregistered, { accepted: false, reason: 'device-unregistered' })
    // The in-memory registry and the chain one agree on the same history.
    const memory = new InMemoryRegistry()
    memory.register(device.address, other.address)
    memory.revoke(device.address)
    for (const d of [device.address, other.address]) t.equal(await registry.status(d), await memory.status(d))
  })

  t.test('settlement: once per round, checked, with provenance', async (t) => {
    const devices = devicesOf(10)
    const tree = treeFor(1n, devices)
    const s = settlementFor(1n, tree)
    const journal = new MemorySettlementJournal()
    const settled = await settleRound(connection, { gateway, ledger: fleet.ledger, settlement: s, journal })
    t.equal(settled.status, 'settled')
    t.ok(settled.transactionHash)
    t.equal(await journal.get(1n), undefined, 'the journal entry is gone once confirmed')
    const stored = await client.readContract({ address: fleet.ledger, abi: roundLedgerAbi, functionName: 'settlementOf', args: [1n] })
    t.equal(stored.contributionsRoot, tree.root)
    t.equal(stored.rewardTotal, s.rewardTotal)
    const events = await roundSettledEvents(connection, fleet.ledger, 1n)
    t.equal(events.length, 1)
    t.match(events[0]?.args, { fleet: FLEET, round: 1n, gateway: gateway.address, parentModel: s.parentModel, newModel: s.newModel, recordHash: s.recordHash })

    t.same(await isSettledModel(client, { ledger: fleet.ledger, model: s.newModel }), { settled: true, round: 1n }, 'provenance: the new model is settled')
    t.same(await isSettledModel(client, { ledger: fleet.ledger, model: s.parentModel }), { settled: false }, 'its parent was never settled here')
    t.match(await rejection(isSettledModel(client, { ledger: fleet.ledger, model: '0x1234' })), { code: 'CW_INVALID_ARGUMENT', details: { field: 'model' } })
    t.match(await rejection(isSettledModel(client, { ledger: fleet.registry, model: s.newModel })), { code: 'CW_CONTRACT_READ' }, 'a contract that is no ledger')

    // What an auditor reads: the chain's settlement, compared with the round record.
    const read = await readRoundSettlement(client, { ledger: fleet.ledger, round: 1n, fromBlock: fleet.deployedAt })
    t.match(read, { settled: true, ...s, gateway: gateway.address, transactionHash: settled.transactionHash })
    if (!read.settled) throw new Error('not settled')
    t.same(compareSettlement(s, read), [], 'an honest record matches the chain')
    t.same(
      compareSettlement({ ...s, recordHash: hash('tampered after settlement'), newModel: hash('another model') }, read).map((m) => m.field),
      ['newModel', 'recordHash'],
      'a record tampered with after settlement is reported, field by field',
    )
    t.same(await readRoundSettlement(client, { ledger: fleet.ledger, round: 77n }), { settled: false })
    t.match(await rejection(readRoundSettlement(client, { ledger: fleet.ledger, round: -1n })), { code: 'CW_INVALID_ARGUMENT', details: { field: 'round' } })

    const again = await settleRound(connection, { gateway, ledger: fleet.ledger, settlement: s, journal })
    t.equal(again.status, 'already-settled', 'settling again is a no-op')
    t.equal(again.transactionHash, settled.transactionHash)
    t.equal((await roundSettledEvents(connection, fleet.ledger, 1n)).length, 1, 'still one settlement')

    const direct = writeAndConfirm(connection, {
      account: gateway,
      address: fleet.ledger,
      abi: roundLedgerAbi,
      functionName: 'settle',
      args: [s.fleet, s.round, s.parentModel, hash('other model'), s.contributionsRoot, s.rewardTotal, s.recordHash],
    })
    t.match(await rejection(direct), { code: 'CW_CHAIN_ROUND_ALREADY_SETTLED', name: 'RoundAlreadySettledError', details: { errorName: 'RoundAlreadySettled', args: ['1'] } })
    t.match(await rejection(settleRound(connection, { gateway, ledger: fleet.ledger, settlement: { ...s, recordHash: hash('tampered') }, journal })), {
      code: 'CW_SETTLEMENT_CONFLICT',
      details: { field: 'recordHash' },
    })
    t.match(await rejection(settleRound(connection, { gateway, ledger: fleet.ledger, settlement: settlementFor(2n, tree, { fleet: hash('another fleet') }), journal })), {
      code: 'CW_CHAIN_WRONG_FLEET',
    })
    // A model that round 1 produced cannot be produced again by a round with another parent.
    t.match(await rejection(settleRound(connection, { gateway, ledger: fleet.ledger, settlement: settlementFor(2n, tree, { parentModel: hash('another parent'), newModel: s.newModel }), journal })), {
      code: 'CW_CHAIN_MODEL_ALREADY_SETTLED',
      details: { errorName: 'ModelAlreadySettled', args: [s.newModel] },
    })
    t.equal((await client.readContract({ address: fleet.ledger, abi: roundLedgerAbi, functionName: 'settlementOf', args: [2n] })).settledAt, 0n, 'round 2 stays unsettled')
    t.match(await rejection(settleRound(connection, { gateway, ledger: fleet.ledger, settlement: { ...s, round: 2n ** 64n - 1n }, journal })), {
      code: 'CW_INVALID_ARGUMENT',
      details: { field: 'settlement.round' },
    })
    t.match(await rejection(settleRound(connection, { gateway, ledger: fleet.ledger, settlement: { ...s, newModel: '0x00' }, journal })), {
      code: 'CW_INVALID_ARGUMENT',
      details: { field: 'settlement.newModel' },
    })
  })

  t.test('a round that kept its settled parent settles; provenance still names the round that produced the model', async (t) => {
    const produced = settlementFor(30n, treeFor(30n, devicesOf(3)))
    await settleRound(connection, { gateway, ledger: fleet.ledger, settlement: produced, journal: new MemorySettlementJournal() })
    // Round 31 evaluated worse than its parent and kept it: newModel == parentModel == round 30's model.
    const kept = settlementFor(31n, treeFor(31n, devicesOf(3)), { parentModel: produced.newModel, newModel: produced.newModel })
    const settled = await settleRound(connection, { gateway, ledger: fleet.ledger, settlement: kept, journal: new MemorySettlementJournal() })
    t.equal(settled.status, 'settled', 'the kept-parent round is accepted')
    const read = await readRoundSettlement(client, { ledger: fleet.ledger, round: 31n, fromBlock: fleet.deployedAt })
    t.match(read, { settled: true, parentModel: produced.newModel, newModel: produced.newModel, contributionsRoot: kept.contributionsRoot })
    t.same(await isSettledModel(client, { ledger: fleet.ledger, model: produced.newModel }), { settled: true, round: 30n }, 'provenance keeps the first round')
    // Keeping a parent that no round settled gives that model its first provenance entry.
    const fresh = hash('an unsettled parent kept')
    await settleRound(connection, { gateway, ledger: fleet.ledger, settlement: settlementFor(32n, treeFor(32n, devicesOf(2)), { parentModel: fresh, newModel: fresh }), journal: new MemorySettlementJournal() })
    t.same(await isSettledModel(client, { ledger: fleet.ledger, model: fresh }), { settled: true, round: 32n })
    // Re-naming a settled model is only for a round that kept it as its parent.
    t.match(
      await rejection(settleRound(connection, { gateway, ledger: fleet.ledger, settlement: settlementFor(33n, treeFor(33n, devicesOf(2)), { parentModel: fresh, newModel: produced.newModel }), journal: new MemorySettlementJournal() })),
      { code: 'CW_CHAIN_MODEL_ALREADY_SETTLED', details: { args: [produced.newModel] } },
    )
    t.same(await isSettledModel(client, { ledger: fleet.ledger, model: produced.newModel }), { settled: true, round: 30n })
  })

  t.test('claims: a proof per round, several rounds in one transaction, each leaf once', async (t) => {
    const devices = devicesOf(8)
    const [alice, bob] = devices as [Address, Address]
    const trees = [10n, 11n, 12n].map((round) => treeFor(round, devices))
    for (const [i, tree] of trees.entries())
      await settleRound(connection, { gateway, ledger: fleet.ledger, settlement: settlementFor(10n + BigInt(i), tree), journal: new MemorySettlementJournal() })
    const claimOf = (round: number, device: Address) => {
      const tree = trees[round - 10]
      if (tree === undefined) throw new Error('no tree')
      const leaf = tree.leaves.find((l) => l.device === device)
      if (leaf === undefined) throw new Error('no leaf')
      return { leaf, proof: tree.proof(device) }
    }
    const balance = (a: Address) => client.readContract({ address: fleet.rewards, abi: rewardsAbi, functionName: 'balanceOf', args: [a] })

    await claimRewards(connection, { account: stranger, rewards: fleet.rewards, device: alice, claims: [claimOf(10, alice)] })
    t.equal(await balance(alice), claimOf(10, alice).leaf.score, 'anyone may send the claim; the device is paid')
    t.equal(await balance(stranger.address), 0n)
    t.match(await rejection(claimRewards(connection, { account: stranger, rewards: fleet.rewards, device: alice, claims: [claimOf(10, alice)] })), {
      code: 'CW_CHAIN_ALREADY_CLAIMED',
      name: 'AlreadyClaimedError',
      details: { errorName: 'AlreadyClaimed', args: ['10', alice] },
    })
    const forged = { ...claimOf(11, alice), leaf: { ...claimOf(11, alice).leaf, score: 10n ** 24n } }
    t.match(await rejection(claimRewards(connection, { account: stranger, rewards: fleet.rewards, device: alice, claims: [forged] })), {
      code: 'CW_CHAIN_INVALID_PROOF',
      name: 'InvalidProofError',
    })
    const wrongProof = { ...claimOf(11, alice), proof: claimOf(11, bob).proof }
    t.match(await rejection(claimRewards(connection, { account: stranger, rewards: fleet.rewards, device: alice, claims: [wrongProof] })), { code: 'CW_CHAIN_INVALID_PROOF' })
    const unsettled = { ...claimOf(11, alice), leaf: { ...claimOf(11, alice).leaf, round: 99n } }
    t.match(await rejection(claimRewards(connection, { account: stranger, rewards: fleet.rewards, device: alice, claims: [unsettled] })), { code: 'CW_CHAIN_ROUND_NOT_SETTLED' })
    t.match(await rejection(claimRewards(connection, { account: stranger, rewards: fleet.rewards, device: alice, claims: [] })), { code: 'CW_CHAIN_BAD_ARGUMENT', details: { errorName: 'NoClaims' } })
    t.match(await rejection(claimRewards(connection, { account: stranger, rewards: fleet.rewards, device: bob, claims: [claimOf(11, alice)] })), { code: 'CW_INVALID_ARGUMENT' })

    await claimRewards(connection, { account: bob === stranger.address ? owner : stranger, rewards: fleet.rewards, device: bob, claims: [claimOf(10, bob), claimOf(11, bob), claimOf(12, bob)] })
    t.equal(await balance(bob), claimOf(10, bob).leaf.score + claimOf(11, bob).leaf.score + claimOf(12, bob).leaf.score, 'three rounds in one transaction')
    for (const round of [10n, 11n, 12n]) t.equal(await client.readContract({ address: fleet.rewards, abi: rewardsAbi, functionName: 'isClaimed', args: [bob, round] }), true)
    t.equal(await client.readContract({ address: fleet.rewards, abi: rewardsAbi, functionName: 'isClaimed', args: [alice, 11n] }), false)

    // Sweep: only the owner, only after the expiry, and a swept leaf cannot be claimed.
    const carol = devices[2] as Address
    const sweepArgs = [owner.address, [carol], [{ round: 11n, attestationHash: claimOf(11, carol).leaf.attestationHash, score: claimOf(11, carol).leaf.score, proof: claimOf(11, carol).proof }]] as const
    t.match(await rejection(writeAndConfirm(connection, { account: owner, address: fleet.rewards, abi: rewardsAbi, functionName: 'sweep', args: sweepArgs })), {
      code: 'CW_CHAIN_CLAIM_NOT_EXPIRED',
    })
    await backend.increaseTime(Number(CLAIM_EXPIRY) + 1)
    t.match(await rejection(writeAndConfirm(connection, { account: stranger, address: fleet.rewards, abi: rewardsAbi, functionName: 'sweep', args: sweepArgs })), {
      code: 'CW_CHAIN_NOT_OWNER',
    })
    await writeAndConfirm(connection, { account: owner, address: fleet.rewards, abi: rewardsAbi, functionName: 'sweep', args: sweepArgs })
    t.equal(await balance(owner.address), claimOf(11, carol).leaf.score, 'the owner swept the unclaimed leaf')
    t.match(await rejection(claimRewards(connection, { account: stranger, rewards: fleet.rewards, device: carol, claims: [claimOf(11, carol)] })), { code: 'CW_CHAIN_ALREADY_CLAIMED' })
  })

  t.test('a gateway that crashes around the send settles the round exactly once on restart', async (t) => {
    const directory = await mkdtemp(join(tmpdir(), 'cw-settle-journal-'))
    t.teardown(() => rm(directory, { recursive: true, force: true }))
    const cases: ['crash-after' | 'crash-before', bigint][] = [
      ['crash-after', 20n],
      ['crash-before', 21n],
    ]
    for (const [when, round] of cases) {
      const s = settlementFor(round, treeFor(round, devicesOf(4)))
      const abort = new AbortController()
      const crashing = intercepted(connection, (method) => (method === 'eth_sendRawTransaction' ? when : 'forward'), abort)
      const crashed = await rejection(settleRound(crashing, { gateway, ledger: fleet.ledger, settlement: s, journal: new FileSettlementJournal(directory), signal: abort.signal }))
      t.notMatch(crashed, { code: 'DID_NOT_REJECT' }, `${when}: the first run dies`)
      const pending = await new FileSettlementJournal(directory).get(round)
      t.ok(pending, `${when}: the signed transaction was journalled before the send`)
      const restarted = await settleRound(connection, { gateway, ledger: fleet.ledger, settlement: s, journal: new FileSettlementJournal(directory) })
      t.equal(restarted.status, 'settled', `${when}: the restarted gateway finishes it`)
      t.equal(restarted.transactionHash, pending?.hash, `${when}: with the very transaction it journalled`)
      t.equal((await roundSettledEvents(connection, fleet.ledger, round)).length, 1, `${when}: settled exactly once`)
      t.equal(await new FileSettlementJournal(directory).get(round), undefined)
    }

    // A journalled transaction whose nonce something else used can never be mined: a fresh one settles.
    const round = 22n
    const s = settlementFor(round, treeFor(round, devicesOf(4)))
    const abort = new AbortController()
    const crashing = intercepted(connection, (method) => (method === 'eth_sendRawTransaction' ? 'crash-before' : 'forward'), abort)
    await rejection(settleRound(crashing, { gateway, ledger: fleet.ledger, settlement: s, journal: new FileSettlementJournal(directory), signal: abort.signal }))
    const stale = await new FileSettlementJournal(directory).get(round)
    await setGateway(connection, { owner, registry: fleet.registry, gateway: gateway.address, authorised: true })
    const hash0 = await client.sendRawTransaction({
      serializedTransaction: await gateway.signTransaction({
        chainId: connection.chain.id,
        type: 'eip1559',
        to: gateway.address,
        value: 0n,
        nonce: stale?.nonce ?? 0,
        gas: 21_000n,
        maxFeePerGas: 10n ** 11n,
        maxPriorityFeePerGas: 10n ** 9n,
      }),
    })
    await client.waitForTransactionReceipt({ hash: hash0, pollingInterval: 50 })
    const fresh = await settleRound(connection, { gateway, ledger: fleet.ledger, settlement: s, journal: new FileSettlementJournal(directory) })
    t.equal(fresh.status, 'settled')
    t.not(fresh.transactionHash, stale?.hash, 'a new transaction replaced the dead one')
    t.equal((await roundSettledEvents(connection, fleet.ledger, round)).length, 1)
  })
}

