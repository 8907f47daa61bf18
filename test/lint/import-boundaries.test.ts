// The import table of ARCHITECTURE.md is enforced by the lint: forbidden imports fail it.
import t from 'tap'
import { ESLint } from 'eslint'
import { fileURLToPath } from 'node:url'
import { ALLOWED_IMPORTS } from '../../eslint/import-boundaries.js'

const cwd = fileURLToPath(new URL('../..', import.meta.url))
const eslint = new ESLint({ cwd })

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${cwd}${file}` })
  return (result?.messages ?? []).filter((m) => m.ruleId === 'counterweight/import-boundaries').map((m) => m.message)
}

const cases: [string, string, boolean][] = [
  ['protocols/a.ts', "import { x } from '../gateway/rounds/x.js'", false],
  ['protocols/eip712/a.ts', "import { x } from '../../hardware/keys/x.js'", false],
  ['protocols/a.ts', "export * from '../cli/main.js'", false],
  ['protocols/a.ts', "const m = await import('../edge-agent/x.js')", false],
  ['protocols/a.ts', "import { x } from './eip712/types.js'", true],
  ['protocols/a.ts', "import { z } from 'zod'", true],
  ['hardware/keys/a.ts', "import { x } from '../../protocols/errors.js'", true],
  ['hardware/keys/a.ts', "import { x } from '../../gateway/x.js'", false],
  ['edge-agent/a.ts', "import { x } from '../gateway/x.js'", false],
  ['edge-agent/a.ts', "import { x } from '../provisioning/x.js'", false],
  ['edge-agent/a.ts', "import { x } from '../hardware/x.js'", true],
  ['gateway/a.ts', "import { x } from '../edge-agent/outbox/x.js'", false],
  ['gateway/a.ts', "import { x } from '../protocols/index.js'", true],
  ['provisioning/a.ts', "import { x } from '../gateway/x.js'", false],
  ['provisioning/a.ts', "import { x } from '../cli/x.js'", false],
  ['cli/a.ts', "import { x } from '../gateway/x.js'", true],
  ['test/a.test.ts', "import { x } from '../edge-agent/x.js'", true],
  ['bench/a.ts', "import { x } from '../provisioning/x.js'", true],
]

for (const [file, code, allowed] of cases) {
  t.test(`${file}: ${code}`, async (t) => {
    const errors = await boundaryErrors(file, `${code}\nexport {}\n`)
    if (allowed) t.same(errors, [], 'allowed')
    else t.match(errors[0] ?? '', /may not import from/, 'forbidden, and the lint says why')
  })
}

t.test('the table matches ARCHITECTURE.md', async (t) => {
  t.same(ALLOWED_IMPORTS.protocols, [])
  for (const folder of ['edge-agent', 'gateway', 'provisioning'] as const) t.same(ALLOWED_IMPORTS[folder], ['protocols', 'hardware'])
  t.same(ALLOWED_IMPORTS.hardware, ['protocols'])
})
