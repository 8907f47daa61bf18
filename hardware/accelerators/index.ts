export { detectHardware, type DetectHardwareParameters, type DetectHardwareReturnType } from './detect-hardware.js'
export { executionProvidersFor } from './execution-providers.js'
export {
  ACCELERATOR_KINDS,
  BOARD_KINDS,
  CPU_ARCHES,
  EXECUTION_PROVIDERS,
  acceleratorSchema,
  hardwareProfileSchema,
  parseHardwareProfile,
  type Accelerator,
  type AcceleratorKind,
  type BoardKind,
  type CpuArch,
  type ExecutionProvider,
  type HardwareProfile,
} from './hardware-profile.js'
export { SIMD_FEATURES, parseCpuInfo, type CpuInfo } from './cpu.js'
export { parseMemInfo, type MemoryInfo } from './memory.js'
