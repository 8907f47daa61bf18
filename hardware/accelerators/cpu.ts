// The CPU from /proc/cpuinfo: logical cores, architecture, model and SIMD extensions. x86 kernels
// list `flags`; ARM kernels list `Features` and identify cores by implementer and part number.

import type { CpuArch } from './hardware-profile.js'

/**
 * SIMD extensions that matter to inference kernels, in the order the profile lists them. x86
 * names are the kernel's cpuinfo flags (arch/x86/include/asm/cpufeatures.h); ARM names are its
 * hwcap names (Documentation/arch/arm64/elf_hwcaps.rst), plus `neon`, which `asimd` implies.
 */
export const SIMD_FEATURES = [
  'sse2',
  'ssse3',
  'sse4_1',
  'sse4_2',
  'avx',
  'avx2',
  'fma',
  'f16c',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512_vnni',
  'avx512_bf16',
  'avx512_fp16',
  'avx_vnni',
  'amx_tile',
  'amx_int8',
  'amx_bf16',
  'neon',
  'asimd',
  'asimdhp',
  'asimddp',
  'i8mm',
  'bf16',
  'sve',
  'sve2',
] as const

/**
 * Arm Ltd. (implementer 0x41) core part numbers, from each core's Technical Reference Manual,
 * "Main ID Register, EL1". Enough for the boards we target; others fall back to `model name`.
 */
const ARM_PARTS: Readonly<Record<string, string>> = {
  '0xd03': 'Cortex-A53',
  '0xd04': 'Cortex-A35',
  '0xd05': 'Cortex-A55',
  '0xd07': 'Cortex-A57',
  '0xd08': 'Cortex-A72',
  '0xd09': 'Cortex-A73',
  '0xd0a': 'Cortex-A75',
  '0xd0b': 'Cortex-A76',
  '0xd0c': 'Neoverse-N1',
  '0xd0d': 'Cortex-A77',
  '0xd41': 'Cortex-A78',
  '0xd42': 'Cortex-A78AE',
  '0xd44': 'Cortex-X1',
  '0xd46': 'Cortex-A510',
  '0xd47': 'Cortex-A710',
  '0xd4b': 'Cortex-A78C',
}
const ARM_IMPLEMENTER = '0x41'

export interface CpuInfo {
  /** Logical processors listed; 0 when the text lists none. */
  cores: number
  arch: CpuArch
  model: string | null
  simd: string[]
  /** The board named in cpuinfo's trailing block (Raspberry Pi `Model`, older ARM `Hardware`). */
  boardModel: string | null
}

/** `key : value` lines, grouped into one record per blank-line-separated block. */
function blocks(text: string): Map<string, string>[] {
  const result: Map<string, string>[] = []
  let current = new Map<string, string>()
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (line.trim() === '') {
      if (current.size > 0) result.push(current)
      current = new Map()
      continue
    }
    if (colon < 0) continue
    current.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  if (current.size > 0) result.push(current)
  return result
}

function archOf(processors: Map<string, string>[]): CpuArch {
  const first = processors[0]
  if (first === undefined) return 'unknown'
  const flags = first.get('flags')
  if (first.has('vendor_id') || flags !== undefined) {
    // `lm` (long mode) is the x86-64 flag.
    return (flags ?? '').split(/\s+/).includes('lm') ? 'x64' : 'ia32'
  }
  const armArch = first.get('cpu architecture')
  if (armArch !== undefined) return Number.parseInt(armArch, 10) >= 8 ? 'arm64' : 'arm'
  const isa = first.get('isa')
  if (isa !== undefined && isa.startsWith('rv64')) return 'riscv64'
  return 'unknown'
}

export function parseCpuInfo(text: string): CpuInfo {
  const all = blocks(text)
  const processors = all.filter((b) => b.has('processor'))
  // Raspberry Pi kernels end the file with a block of board facts: Revision, Serial, Model.
  const board = all.find((b) => !b.has('processor'))
  const boardModel = board?.get('model') ?? board?.get('hardware') ?? null
  const arch = archOf(processors)

  const models: string[] = []
  for (const p of processors) {
    const part = p.get('cpu part')
    const armName = p.get('cpu implementer') === ARM_IMPLEMENTER && part !== undefined ? ARM_PARTS[part] : undefined
    const name = armName ?? p.get('model name') ?? p.get('cpu model') ?? p.get('uarch')
    if (name !== undefined && name !== '' && !models.includes(name)) models.push(name)
  }

  // Features common to every core: a big.LITTLE SoC can only run what all its cores run.
  let common: Set<string> | undefined
  for (const p of processors) {
    const flags = new Set((p.get('flags') ?? p.get('features') ?? '').split(/\s+/).filter((f) => f !== ''))
    common = common === undefined ? flags : new Set([...common].filter((f) => flags.has(f)))
  }
  const have = common ?? new Set<string>()
  if (have.has('asimd')) have.add('neon')
  const simd = SIMD_FEATURES.filter((f) => have.has(f))

  return {
    cores: processors.length,
    arch,
    model: models.length === 0 ? null : models.join(' + '),
    simd,
    boardModel: boardModel === '' ? null : boardModel,
  }
}

/** CPUs in a kernel CPU list such as `0-3,6,8-11` (/sys/devices/system/cpu/online). */
export function countCpuList(text: string | undefined): number {
  if (text === undefined) return 0
  let count = 0
  for (const range of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(range.trim())
    if (match === null) return 0
    const from = Number(match[1])
    const to = match[2] === undefined ? from : Number(match[2])
    if (to < from) return 0
    count += to - from + 1
  }
  return count
}
