// `createFleet` with `attach`: a RewardLedger (cumulative leaves) is one address for registry,
// ledger and rewards; the per-round trio is three. Each is checked before fleet.json is written.
import t from 'tap'
import { join } from 'node:path'
import { stat } from 'node:fs/promises'
import { createFleet } from '../../provisioning/index.js'
import { deployFleet, signerToAccount } from '../../gateway/settlement/index.js'
import { openKeyStore } from '../../hardware/index.js'
import { ENV, fileStore, generateKey, rejection, startChain, tempDir } from './helpers.js'

const dir = await tempDir(t, 'provision-attach')
const chain = await startChain(t, 'embedded')
const { connection } = chain
const ownerStore = fileStore(join(dir, 'owner-keys'))
const owner = { keyStore: ownerStore, label: 'owner' }
const ownerAddress = await generateKey(ownerStore, 'owner')
await chain.fund(ownerAddress)
const store = await openKeyStore(ownerStore, { env: ENV })
t.teardown(() => store.close())
const account = signerToAccount({ signer: await store.open('owner') })
const FLEET = `0x${'a7'.repeat(32)}` as const

t.test('a new fleet is one RewardLedger with cumulative leaves', async (t) => {
  const { fleet } = await createFleet({ file: join(dir, 'new.json'), owner, fleet: FLEET, chain: { chainId: 31337 }, connection, env: ENV })
  t.equal(fleet.contracts.leaves, 'cumulative')
  t.equal(fleet.contracts.ledger, fleet.contracts.registry)
  t.equal(fleet.contracts.rewards, fleet.contracts.registry)
})

t.test('attaching to a RewardLedger or to the per-round trio', async (t) => {
  const cumulative = await deployFleet(connection, { owner: account, fleet: FLEET })
  const attached = await createFleet({ file: join(dir, 'attached.json'), owner, fleet: FLEET, chain: { chainId: 31337 }, connection, env: ENV, attach: cumulative })
  t.equal(attached.deployed, false)
  t.equal(attached.fleet.contracts.leaves, 'cumulative')
  const perRound = await deployFleet(connection, { owner: account, fleet: FLEET, leaves: 'per-round' })
  const old = await createFleet({ file: join(dir, 'per-round.json'), owner, fleet: FLEET, chain: { chainId: 31337 }, connection, env: ENV, attach: perRound })
  t.equal(old.fleet.contracts.leaves, 'per-round')
  // A RewardLedger named as the ledger of another registry is refused, and no file is written.
  const file = join(dir, 'mixed.json')
  t.match(
    await rejection(createFleet({ file, owner, fleet: FLEET, chain: { chainId: 31337 }, connection, env: ENV, attach: { registry: perRound.registry, ledger: cumulative.ledger, rewards: cumulative.ledger } })),
    { code: 'CW_PROVISION_FLEET_SETUP', details: { field: 'attach.ledger' } },
  )
  t.equal(await stat(file).catch(() => undefined), undefined)
})
