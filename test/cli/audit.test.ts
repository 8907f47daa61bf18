// `cw audit round` as a user runs it, on a directory of blobs.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { decodeRoundRecord, encodeRoundRecord } from '../../protocols/index.js'
import { finishedRound } from '../helpers/finished-round.js'

const bin = fileURLToPath(new URL('../../bin/cw.js', import.meta.url))
const cw = async (...args: string[]) => {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [bin, ...args])
    return { code: 0, stdout }
  } catch (err) {
    const e = err as { code: number; stdout: string }
    return { code: e.code, stdout: e.stdout }
  }
}

const dir = await mkdtemp(join(tmpdir(), 'cw-audit-cli-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const { recordHash, recordBytes, blobs } = await finishedRound()
for (const [hash, bytes] of blobs) await writeFile(join(dir, hash), bytes)

const honest = await cw('audit', 'round', '1', '--record', recordHash, '--blobs', dir, '--json')
t.equal(honest.code, 0, 'exit 0 when every item matches')
t.equal((JSON.parse(honest.stdout) as { ok: boolean }).ok, true)

const record = decodeRoundRecord(recordBytes)
const first = record.contributions[0]
if (first === undefined) throw new Error('no contribution')
const tampered = join(dir, 'tampered-record.bin')
await writeFile(tampered, encodeRoundRecord({ ...record, contributions: [{ ...first, reward: first.reward * 2n }, ...record.contributions.slice(1)] }))
const bad = await cw('audit', 'round', '1', '--record', tampered, '--blobs', dir)
t.equal(bad.code, 1, 'exit 1 on a mismatch')
t.match(bad.stdout, new RegExp(`MISMATCH  contribution ${first.attestation.message.device}: score`), 'the tampered item is named')
t.equal((await cw('audit', 'round', '2', '--record', recordHash, '--blobs', dir)).code, 1, 'the wrong round number is a mismatch')
t.equal((await cw('audit', 'round', 'x', '--record', recordHash, '--blobs', dir)).code, 2, 'a round that is not a number')
t.equal((await cw('audit', 'round', '1', '--blobs', dir)).code, 2, '--record is required')
