// What a device is made of, as far as inference cares: the board, the CPU (cores, architecture,
// SIMD), the memory, and the accelerators next to it. Validated with zod, so a profile read back
// from a file or a certificate is held to the same shape as one just detected.
import { z } from 'zod'
import { HardwareProfileError } from '../errors.js'

/** Bounds on the strings and lists of a profile, so that a hostile one stays small. */
const MAX_TEXT = 256
const MAX_LIST = 64

const text = z.string().max(MAX_TEXT)

export const BOARD_KINDS = ['raspberry-pi', 'jetson', 'rockchip', 'generic'] as const
/** Node's names (process.arch) for the architectures we can tell apart, and `unknown`. */
export const CPU_ARCHES = ['x64', 'ia32', 'arm64', 'arm', 'riscv64', 'unknown'] as const
export const ACCELERATOR_KINDS = ['nvidia-gpu', 'jetson-gpu', 'coral-edgetpu', 'hailo', 'rockchip-npu'] as const
/**
 * ONNX Runtime execution provider names, as onnxruntime-node and onnxruntime-web spell them
 * (InferenceSession.ExecutionProviderOptionMap in the ONNX Runtime JavaScript API).
 */
export const EXECUTION_PROVIDERS = ['tensorrt', 'cuda', 'dml', 'coreml', 'qnn', 'nnapi', 'xnnpack', 'webgpu', 'webnn', 'cpu', 'wasm'] as const

export const acceleratorSchema = z.strictObject({
  kind: z.enum(ACCELERATOR_KINDS).describe('what kind of accelerator it is'),
  bus: z.enum(['pcie', 'usb', 'soc']).describe('how it is attached'),
  /** The device node that reaches it, where it has one. */
  device: text.nullable().describe('the device node that reaches it, or null'),
  model: text.nullable().describe('its model name, or null when unknown'),
  driverVersion: text.nullable().describe('the version of its driver, or null when unknown'),
  /** The ONNX Runtime execution provider that drives it, or null when ONNX Runtime has none. */
  executionProvider: z.enum(EXECUTION_PROVIDERS).nullable().describe('the ONNX Runtime execution provider that drives it, or null'),
})

export const hardwareProfileSchema = z.strictObject({
  board: z.strictObject({
    kind: z.enum(BOARD_KINDS).describe('the board family'),
    /** /proc/device-tree/model on boards with a device tree; the DMI product name on PCs. */
    model: text.nullable().describe('the device-tree model, or the DMI product name on a PC'),
    vendor: text.nullable().describe('the board vendor, or null when unknown'),
    /** Device-tree `compatible` strings, most specific first. */
    compatible: z.array(text).max(MAX_LIST).describe('device-tree `compatible` strings, most specific first'),
    /** NVIDIA L4T release (e.g. `36.3.0`) on a Jetson, from /etc/nv_tegra_release. */
    l4tRelease: text.nullable().describe('the NVIDIA L4T release on a Jetson, else null'),
  }).describe('the board'),
  cpu: z.strictObject({
    arch: z.enum(CPU_ARCHES).describe('the CPU architecture'),
    cores: z.number().int().min(1).max(65_536).describe('logical cores'),
    /** Model name(s); a big.LITTLE SoC lists each core type, e.g. `Cortex-A55 + Cortex-A76`. */
    model: text.nullable().describe('the CPU model name(s), each core type of a big.LITTLE SoC'),
    /** SIMD extensions, in the order of SIMD_FEATURES. */
    simd: z.array(text).max(MAX_LIST).describe('SIMD extensions the CPU has'),
  }).describe('the CPU'),
  memory: z.strictObject({
    totalBytes: z.number().int().min(0).describe('installed memory in bytes'),
    availableBytes: z.number().int().min(0).nullable().describe('memory available when detected, in bytes'),
  }).describe('memory'),
  accelerators: z.array(acceleratorSchema).max(MAX_LIST).describe('accelerators found (GPUs, NPUs, TPUs)'),
})

export type BoardKind = (typeof BOARD_KINDS)[number]
export type CpuArch = (typeof CPU_ARCHES)[number]
export type AcceleratorKind = (typeof ACCELERATOR_KINDS)[number]
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number]
export type Accelerator = z.infer<typeof acceleratorSchema>
export type HardwareProfile = z.infer<typeof hardwareProfileSchema>

/** Validates a profile; HardwareProfileError naming the first bad field. */
export function parseHardwareProfile(input: unknown): HardwareProfile {
  const result = hardwareProfileSchema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = ['profile', ...(issue?.path ?? []).map(String)].join('.')
  throw new HardwareProfileError(field, issue?.message ?? 'invalid')
}
