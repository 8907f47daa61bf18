// Shared by the bench/ scripts: timing loops, a printed table, and the JSON file.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Row {
  group: string
  name: string
  value: number
  unit: string
  /** The row this one is compared with, measured in the same run. */
  baseline?: string
  ratio?: number
}

/** Calls `fn` repeatedly for at least `minMs` (after a warm-up) and returns operations per second. */
export async function opsPerSecond(fn: () => unknown | Promise<unknown>, minMs = 1000, batch = 1): Promise<number> {
  const warmUntil = performance.now() + Math.min(200, minMs / 4)
  while (performance.now() < warmUntil) await fn()
  let ops = 0
  const start = performance.now()
  let now = start
  while (now - start < minMs) {
    for (let i = 0; i < batch; i++) await fn()
    ops += batch
    now = performance.now()
  }
  return (ops * 1000) / (now - start)
}

/** Fills in `ratio` of each row that names a baseline row of the same group. */
export function withRatios(rows: Row[]): Row[] {
  return rows.map((row) => {
    if (row.baseline === undefined) return row
    const base = rows.find((r) => r.group === row.group && r.name === row.baseline)
    return base === undefined ? row : { ...row, ratio: row.value / base.value }
  })
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2))

export function printTable(title: string, rows: readonly Row[]): void {
  const header = ['group', 'name', 'value', 'unit', 'vs baseline']
  const lines = rows.map((r) => [r.group, r.name, fmt(r.value), r.unit, r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x ${r.baseline}`])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  console.log(`\n${title}\n`)
  console.log(line(header))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const l of lines) console.log(line(l))
}

export function writeResults(name: string, rows: readonly Row[], extra: Record<string, unknown> = {}): string {
  const file = fileURLToPath(new URL(`../results/${name}.json`, import.meta.url))
  mkdirSync(dirname(file), { recursive: true })
  const machine = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, platform: `${process.platform}-${process.arch}` }
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine, ...extra, rows }, null, 2)}\n`)
  return file
}
