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
  kind: z.enum(ACCELERATOR_KINDS),
  bus: z.enum(['pcie', 'usb', 'soc']),
  /** The device node that reaches it, where it has one. */
  device: text.nullable(),
  model: text.nullable(),
  driverVersion: text.nullable(),
  /** The ONNX Runtime execution provider that drives it, or null when ONNX Runtime has none. */
  executionProvider: z.enum(EXECUTION_PROVIDERS).nullable(),
})

export const hardwareProfileSchema = z.strictObject({
  board: z.strictObject({
    kind: z.enum(BOARD_KINDS),
    /** /proc/device-tree/model on boards with a device tree; the DMI product name on PCs. */
    model: text.nullable(),
    vendor: text.nullable(),
    /** Device-tree `compatible` strings, most specific first. */
    compatible: z.array(text).max(MAX_LIST),
    /** NVIDIA L4T release (e.g. `36.3.0`) on a Jetson, from /etc/nv_tegra_release. */
    l4tRelease: text.nullable(),
  }),
  cpu: z.strictObject({
    arch: z.enum(CPU_ARCHES),
    cores: z.number().int().min(1).max(65_536),
    /** Model name(s); a big.LITTLE SoC lists each core type, e.g. `Cortex-A55 + Cortex-A76`. */
    model: text.nullable(),
    /** SIMD extensions, in the order of SIMD_FEATURES. */
    simd: z.array(text).max(MAX_LIST),
  }),
  memory: z.strictObject({
    totalBytes: z.number().int().min(0),
    availableBytes: z.number().int().min(0).nullable(),
  }),
  accelerators: z.array(acceleratorSchema).max(MAX_LIST),
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
