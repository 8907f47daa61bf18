// Memory from /proc/meminfo (proc(5): values in kibibytes, though the file says "kB").

export interface MemoryInfo {
  totalBytes: number
  availableBytes: number | null
}

const KIB = 1024

export function parseMemInfo(text: string | undefined): MemoryInfo | undefined {
  if (text === undefined) return undefined
  const fields = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)\s*kB$/.exec(line.trim())
    if (match !== null) fields.set(match[1] ?? '', Number(match[2]) * KIB)
  }
  const totalBytes = fields.get('MemTotal')
  if (totalBytes === undefined) return undefined
  // MemAvailable exists since Linux 3.14; older kernels get null rather than a guess.
  return { totalBytes, availableBytes: fields.get('MemAvailable') ?? null }
}
