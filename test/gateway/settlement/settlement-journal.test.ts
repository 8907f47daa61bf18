// The settlement journal's conformance suite, run against both backends, and the file backend's
// own cases: it survives a new instance (a restarted gateway), and refuses a malformed entry.
import t from 'tap'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileSettlementJournal, MemorySettlementJournal, type PendingSettlement, type SettlementJournal } from '../../../gateway/settlement/index.js'

const tempDir = async (): Promise<string> => {
  const directory = await mkdtemp(join(tmpdir(), 'cw-journal-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

const entry = (round: bigint, nonce = 7): PendingSettlement => ({
  round,
  hash: `0x${round.toString(16).padStart(64, 'a')}`,
  raw: '0x02f8aa0102',
  nonce,
})

const backends: [string, () => Promise<SettlementJournal>][] = [
  ['memory', async () => new MemorySettlementJournal()],
  ['file', async () => new FileSettlementJournal(join(await tempDir(), 'journal'))],
]

for (const [name, create] of backends) {
  t.test(`${name}: conformance`, async (t) => {
    const journal = await create()
    t.equal(await journal.get(1n), undefined, 'empty at first')
    await journal.put(entry(1n))
    await journal.put(entry(2n ** 64n - 2n))
    t.same(await journal.get(1n), entry(1n))
    t.same(await journal.get(2n ** 64n - 2n), entry(2n ** 64n - 2n), 'a round near the top of uint64')
    await journal.put(entry(1n, 8))
    t.equal((await journal.get(1n))?.nonce, 8, 'a put replaces the round\'s entry')
    const got = await journal.get(1n)
    if (got !== undefined) got.nonce = 99
    t.equal((await journal.get(1n))?.nonce, 8, 'what get returns is a copy')
    await journal.delete(1n)
    t.equal(await journal.get(1n), undefined)
    await journal.delete(1n)
    t.pass('deleting twice is fine')
  })
}

t.test('file: a new instance (a restarted gateway) reads what the old one wrote, 0600, no leftovers', async (t) => {
  const directory = join(await tempDir(), 'journal')
  await new FileSettlementJournal(directory).put(entry(5n))
  t.same(await new FileSettlementJournal(directory).get(5n), entry(5n))
  t.same(await readdir(directory), ['round-5.json'])
  t.equal((await stat(join(directory, 'round-5.json'))).mode & 0o777, 0o600)
})

t.test('file: a malformed entry is refused with the field named', async (t) => {
  const directory = await tempDir()
  const journal = new FileSettlementJournal(directory)
  await writeFile(join(directory, 'round-3.json'), JSON.stringify({ round: '3', hash: '0x12', raw: '0x02', nonce: 1 }))
  const err = await journal.get(3n).then(
    () => ({ code: 'DID_NOT_REJECT' }),
    (e: unknown) => e as Record<string, unknown>,
  )
  t.match(err, { code: 'CW_SETTLEMENT_CONFIG', details: { field: 'journal.round-3' } })
  await writeFile(join(directory, 'round-4.json'), 'not json')
  const bad = await journal.get(4n).then(
    () => ({ code: 'DID_NOT_REJECT' }),
    (e: unknown) => e as Record<string, unknown>,
  )
  t.match(bad, { code: 'CW_SETTLEMENT_CONFIG' })
})
