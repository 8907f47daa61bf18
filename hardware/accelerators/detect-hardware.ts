// Detects the board, CPU, memory and inference hardware under a root path (`/` on a device, a
// fixture tree in tests) and picks the ONNX Runtime execution providers to try.
import { availableParallelism } from 'node:os'
import { stat } from 'node:fs/promises'
import { InvalidArgumentError } from '../../protocols/errors.js'
import { DETECT_TIMEOUT_MS } from '../constants.js'
import { detectBoard } from './board.js'
import { countCpuList, parseCpuInfo } from './cpu.js'
import { detectAccelerators } from './devices.js'
import { executionProvidersFor } from './execution-providers.js'
import { parseHardwareProfile, type CpuArch, type ExecutionProvider, type HardwareProfile } from './hardware-profile.js'
import { parseMemInfo } from './memory.js'
import { rootReader } from './read-root.js'

export interface DetectHardwareParameters {
  /** The file system root to look under; `/` when absent. */
  root?: string
  signal?: AbortSignal
}

export interface DetectHardwareReturnType {
  profile: HardwareProfile
  /** Best first; always ends with `cpu`, `wasm`. */
  executionProviders: ExecutionProvider[]
}

const NODE_ARCHES: readonly CpuArch[] = ['x64', 'ia32', 'arm64', 'arm', 'riscv64']

export async function detectHardware(parameters: DetectHardwareParameters = {}): Promise<DetectHardwareReturnType> {
  const { root = '/' } = parameters
  if (typeof root !== 'string' || root.length === 0) throw new InvalidArgumentError('root', 'expected a directory path')
  const signal = parameters.signal ?? AbortSignal.timeout(DETECT_TIMEOUT_MS)
  const info = await stat(root).catch((cause: unknown) => {
    throw new InvalidArgumentError('root', 'does not exist', { cause, details: { root } })
  })
  if (!info.isDirectory()) throw new InvalidArgumentError('root', 'not a directory', { details: { root } })
  const reader = rootReader(root, signal)
  // On the live system, Node knows what the files might not say (no /proc on macOS, a container
  // that hides /sys); on a fixture tree the files are all there is.
  const live = root === '/'

  const cpuText = await reader.text('/proc/cpuinfo')
  const cpu = parseCpuInfo(cpuText ?? '')
  let cores = cpu.cores
  if (cores === 0) cores = countCpuList(await reader.text('/sys/devices/system/cpu/online'))
  if (cores === 0 && live) cores = availableParallelism()
  let arch = cpu.arch
  if (arch === 'unknown' && live && NODE_ARCHES.includes(process.arch as CpuArch)) arch = process.arch as CpuArch

  const memory = parseMemInfo(await reader.text('/proc/meminfo')) ?? { totalBytes: 0, availableBytes: null }
  const board = await detectBoard(reader, cpu.boardModel)
  const accelerators = await detectAccelerators(reader, board)

  const profile = parseHardwareProfile({
    board,
    cpu: { arch, cores: Math.max(cores, 1), model: cpu.model, simd: cpu.simd },
    memory,
    accelerators,
  })
  return { profile, executionProviders: executionProvidersFor(profile) }
}
