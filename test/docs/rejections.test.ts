// docs/rejections.md names every reason a gateway counts: each verifier reason among the signed
// rejections, each mesh-layer reason among the error frames or the signed rejections.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { REJECTION_REASONS } from '../../gateway/verify/index.js'
import { MESH_REFUSAL_REASONS } from '../../protocols/mesh/index.js'

const text = await readFile(join(import.meta.dirname, '../../docs/rejections.md'), 'utf8')
const [errorFrames = '', receipts = ''] = text.split('## Signed rejections')
const rows = (section: string): Set<string> => new Set([...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1] as string))

t.test('every reason has a row', async (t) => {
  const documented = new Set([...rows(errorFrames), ...rows(receipts)])
  t.same(REJECTION_REASONS.filter((r) => !documented.has(r)), [], 'verifier reasons')
  t.same(MESH_REFUSAL_REASONS.filter((r) => !documented.has(r)), [], 'mesh-layer reasons')
  t.same([...documented].filter((r) => !(REJECTION_REASONS as readonly string[]).includes(r) && !(MESH_REFUSAL_REASONS as readonly string[]).includes(r)), [], 'no row for a reason the code does not have')
})
