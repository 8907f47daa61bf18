import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { getAddress, type Address, type Hex } from 'viem'
import { FedAvg } from '../../../protocols/index.js'
import { RoundRunner, RoundStore, parseRoundConfig, participantCount, selectParticipants } from '../../../gateway/rounds/index.js'
import { NOW, baseModel, devices, domain, fleet, gateway, owner, submissionOf } from './fixtures/round-fleet.js'

const dir = await mkdtemp(join(tmpdir(), 'cw-round-store-'))
const db = new Level<string, unknown>(join(dir, 'db'))
await db.open()
t.teardown(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})
const store = new RoundStore(db as never)
const announced: bigint[] = []
const runner = new RoundRunner({
  store,
  domain,
  fleet,
  gateway,
  owner: owner.address,
  rewardTotal: 1_000_000n,
  strategy: () => new FedAvg(),
  announce: async (a) => {
    announced.push(a.message.round)
  },
  now: () => NOW,
})
const hash = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`

t.test('the lifecycle refuses what its state does not allow', async (t) => {
  const eligible = devices.map((d) => d.address)
  await t.rejects(runner.start({ round: 1n, baseModel: new Uint8Array([1, 2, 3]), config: { strategy: { name: 'fedavg' } }, eligible }), { code: 'CW_MODEL_FORMAT' }, 'a base model that does not decode')
  t.equal(await store.current(), undefined, 'and nothing was written')
  const meta = await runner.start({ round: 1n, baseModel, config: { quorum: 2, strategy: { name: 'fedavg' } }, eligible })
  t.equal(meta.state, 'collecting')
  t.same(announced, [1n], 'announced once')
  t.same(meta.announcement.message.strategy, 'fedavg')
  await t.rejects(runner.start({ round: 2n, baseModel, config: { strategy: { name: 'fedavg' } }, eligible }), { code: 'CW_ROUND_STATE' }, 'no second round while one runs')
  await t.rejects(store.transition(1n, 'aggregating'), { code: 'CW_ROUND_STATE' }, 'no skipping a state')
  const one = await submissionOf(0, 1n)
  t.same(await runner.accept(1n, one.device, hash(1), one.bytes), { stored: true, quorum: false })
  t.same(await runner.accept(1n, one.device, hash(2), one.bytes), { stored: false, quorum: false }, 'a device counts once per round')
  t.same(await runner.accept(1n, devices[1]?.address as Address, hash(1), one.bytes), { stored: false, quorum: false }, 'an attestation counts once')
  t.ok(await store.seen(hash(1)))
  t.notOk(await runner.due(1n), 'not due before quorum or deadline')
  const two = await submissionOf(1, 1n)
  t.same(await runner.accept(1n, two.device, hash(3), two.bytes), { stored: true, quorum: true })
  const done = await runner.finish(1n)
  t.equal(done.state, 'done')
  t.equal(done.accepted, 2)
  t.same(done.result?.used, [one.device, two.device].map((d) => getAddress(d)).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)))
  t.ok(done.result?.newModel !== undefined && (await store.model(done.result.newModel)) !== undefined, 'the new model is stored')
  await t.rejects(runner.accept(1n, one.device, hash(9), one.bytes), { code: 'CW_ROUND_STATE' }, 'a finished round takes no updates')
  await t.rejects(runner.start({ round: 1n, baseModel, config: { strategy: { name: 'fedavg' } }, eligible }), { code: 'CW_ROUND_STATE' }, 'round numbers increase')
})

t.test('configuration is validated and names the field', async (t) => {
  t.throws(() => parseRoundConfig({ strategy: { name: '' } }), { code: 'CW_ROUND_CONFIG', details: { field: 'config.strategy.name' } })
  t.throws(() => parseRoundConfig({ strategy: { name: 'fedavg' }, quorum: 0 }), { code: 'CW_ROUND_CONFIG', details: { field: 'config.quorum' } })
  t.throws(() => parseRoundConfig({ strategy: { name: 'fedavg' }, selection: { fraction: 0.5, min: 5, max: 2 } }), { code: 'CW_ROUND_CONFIG', details: { field: 'config.selection.min' } })
  t.throws(() => parseRoundConfig({ strategy: { name: 'fedavg' }, extra: 1 }), { code: 'CW_ROUND_CONFIG' })
  t.same(parseRoundConfig({ strategy: { name: 'fedavg' } }).selection, { fraction: 1, min: 1, max: 10_000 }, 'defaults')
})

t.test('participant selection is deterministic and within its bounds', async (t) => {
  const eligible = Array.from({ length: 50 }, (_, i) => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`))
  const selection = { fraction: 0.2, min: 3, max: 8 }
  const a = selectParticipants(eligible, 4n, hash(7), selection)
  t.same(selectParticipants([...eligible].reverse(), 4n, hash(7), selection), a, 'independent of the input order')
  t.equal(a.length, 8, 'capped at max')
  t.not(selectParticipants(eligible, 5n, hash(7), selection).join(), a.join(), 'another round picks others')
  t.equal(participantCount(10, selection), 3, 'at least min')
  t.equal(participantCount(2, selection), 2, 'never more than are eligible')
})

t.test('without a quorum a round waits for every selected device; below minUpdates it aggregates nothing', async (t) => {
  let clock = NOW
  const subDb = db.sublevel<string, unknown>('quorum-test', {})
  const own = new RoundStore(subDb as never)
  const r = new RoundRunner({ store: own, domain, fleet, gateway, owner: owner.address, rewardTotal: 1_000_000n, strategy: () => new FedAvg(), announce: async () => undefined, now: () => clock })
  const eligible = devices.slice(0, 3).map((d) => d.address)
  const meta = await r.start({ round: 1n, baseModel, config: { durationSeconds: 60, minUpdates: 2, strategy: { name: 'fedavg' } }, eligible })
  t.equal(meta.config.quorum, undefined, 'no quorum by default')
  t.equal(meta.participants.length, 3)
  const selected = meta.participants.map((p) => devices.findIndex((d) => d.address === p))
  const first = await submissionOf(selected[0] as number, 1n)
  t.same(await r.accept(1n, first.device, hash(11), first.bytes), { stored: true, quorum: false }, 'one update of three: not done')
  t.notOk(await r.due(1n), 'the round goes on collecting: a selected device that answers in time is not refused round-closed')
  clock = NOW + 61
  t.ok(await r.due(1n), 'due at the deadline')
  const done = await r.finish(1n)
  t.equal(done.accepted, 1)
  t.match(done.result, { keptParent: true, used: [] }, 'one update is below minUpdates 2: the parent is kept, nothing aggregated')
  t.equal(done.result?.newModel, meta.baseModel)

  clock = NOW + 100
  const second = await r.start({ round: 2n, baseModel, config: { durationSeconds: 60, strategy: { name: 'fedavg' } }, eligible })
  const ids = second.participants.map((p) => devices.findIndex((d) => d.address === p))
  for (const [i, id] of ids.entries()) {
    const s = await submissionOf(id, 2n)
    const result = await r.accept(2n, s.device, hash(20 + i), s.bytes)
    t.equal(result.quorum, i === ids.length - 1, `quorum only when all ${ids.length} selected devices answered (${i + 1})`)
  }
  t.ok(await r.due(2n), 'every selected device answered: due before the deadline')
  const aggregated = await r.finish(2n)
  t.equal(aggregated.result?.used.length, 3, 'all three aggregated')
  t.equal(aggregated.result?.keptParent, false)
})

t.test('quorum below minUpdates is refused', async (t) => {
  t.throws(() => parseRoundConfig({ strategy: { name: 'fedavg' }, quorum: 1, minUpdates: 3 }), { code: 'CW_ROUND_CONFIG', details: { field: 'config.quorum' }, message: /minUpdates/ })
  t.equal(parseRoundConfig({ strategy: { name: 'fedavg' } }).minUpdates, 1, 'minUpdates defaults to 1')
})
