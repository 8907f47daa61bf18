// Enforces the import table of ARCHITECTURE.md ("Folders and who may import whom").
// A small local rule rather than eslint-plugin-boundaries: that plugin needs a TypeScript
// import resolver and element descriptors to say what five lines of path arithmetic say here.
import path from 'node:path'

/** Top-level folder → the other top-level folders it may import. `*` means every folder. */
export const ALLOWED_IMPORTS = {
  protocols: [],
  hardware: ['protocols'],
  'edge-agent': ['protocols', 'hardware'],
  gateway: ['protocols', 'hardware'],
  provisioning: ['protocols', 'hardware'],
  cli: ['*'],
  test: ['*'],
  bench: ['*'],
  scripts: ['*'],
}

const topFolder = (root, file) => {
  const rel = path.relative(root, file)
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined
  const [top] = rel.split(path.sep)
  return top
}

/** @type {import('eslint').Rule.RuleModule} */
export const importBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid imports across the folder boundaries of ARCHITECTURE.md' },
    schema: [],
    messages: {
      forbidden: "'{{from}}/' may not import from '{{to}}/' (allowed: {{allowed}})",
    },
  },
  create(context) {
    const root = context.cwd
    const filename = context.filename
    const from = topFolder(root, filename)
    const allowed = from === undefined ? undefined : ALLOWED_IMPORTS[from]
    if (allowed === undefined || allowed.includes('*')) return {}

    const check = (node, source) => {
      if (source === null || source === undefined || typeof source.value !== 'string') return
      const spec = source.value
      if (!spec.startsWith('.') && !spec.startsWith('/')) return // an npm package
      const target = path.resolve(path.dirname(filename), spec)
      const to = topFolder(root, target)
      if (to === undefined || to === from || allowed.includes(to)) return
      context.report({
        node: source,
        messageId: 'forbidden',
        data: { from, to, allowed: allowed.length === 0 ? 'npm packages only' : allowed.join(', ') },
      })
    }
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source : null),
    }
  },
}

export default { rules: { 'import-boundaries': importBoundaries } }
