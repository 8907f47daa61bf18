// Inference hardware beside the CPU, found by its driver's device nodes and sysfs entries:
// NVIDIA GPUs (the nvidia driver's /proc/driver/nvidia and /dev/nvidiaN), a Jetson's integrated
// GPU, Coral Edge TPUs (the gasket/apex driver's /dev/apex_N, or the USB accelerator's ids),
// Hailo (hailo_pci's /dev/hailoN) and Rockchip NPUs (the vendor rknpu driver, as a misc device or
// a DRM device, or mainline's "rocket" accel driver).
import type { Accelerator } from './hardware-profile.js'
import type { Board } from './board.js'
import type { RootReader } from './read-root.js'

/**
 * Coral USB Accelerator ids: 1a6e:089a before its firmware is loaded, 18d1:9302 after
 * (Coral "Get started with the USB Accelerator", udev rules of the Edge TPU runtime).
 */
const CORAL_USB_IDS = new Set(['1a6e:089a', '18d1:9302'])

const none = { model: null, driverVersion: null } as const

/** `Key: value` lines of an nvidia `information` file (/proc/driver/nvidia/gpus/<bus id>/information). */
const fieldsOf = (text: string | undefined): Map<string, string> =>
  new Map(
    (text ?? '')
      .split('\n')
      .map((line) => /^([^:]+):\s*(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [(m[1] ?? '').trim(), (m[2] ?? '').trim()]),
  )

/** The version in /proc/driver/nvidia/version: "NVRM version: NVIDIA UNIX [Open Kernel Module for] x86_64 Kernel Module  550.54.14 …". */
export function parseNvidiaDriverVersion(text: string | undefined): string | null {
  const match = /^NVRM version:.*?\s(\d+\.\d+(?:\.\d+)?)\s/m.exec(text ?? '')
  return match?.[1] ?? null
}

async function nvidiaGpus(reader: RootReader): Promise<Accelerator[]> {
  const driverVersion = parseNvidiaDriverVersion(await reader.text('/proc/driver/nvidia/version'))
  const gpus: Accelerator[] = []
  for (const busId of await reader.list('/proc/driver/nvidia/gpus')) {
    const info = fieldsOf(await reader.text(`/proc/driver/nvidia/gpus/${busId}/information`))
    const minor = info.get('Device Minor')
    gpus.push({
      kind: 'nvidia-gpu',
      bus: 'pcie',
      device: minor !== undefined && /^\d+$/.test(minor) ? `/dev/nvidia${minor}` : null,
      model: info.get('Model') ?? null,
      driverVersion,
      executionProvider: 'cuda',
    })
  }
  if (gpus.length > 0) return gpus
  // Containers often get the device nodes without /proc/driver/nvidia/gpus.
  const nodes = (await reader.list('/dev')).filter((name) => /^nvidia\d+$/.test(name))
  return nodes.map((name) => ({
    kind: 'nvidia-gpu' as const,
    bus: 'pcie' as const,
    device: `/dev/${name}`,
    model: null,
    driverVersion,
    executionProvider: 'cuda' as const,
  }))
}

async function jetsonGpu(reader: RootReader, board: Board): Promise<Accelerator[]> {
  if (board.kind !== 'jetson') return []
  // Orin (L4T r35+) exposes the nvgpu driver under /dev/nvgpu; Xavier and older under /dev/nvhost-*.
  const candidates = ['/dev/nvgpu/igpu0/ctrl', '/dev/nvhost-ctrl-gpu', '/dev/nvhost-gpu']
  let device: string | null = null
  for (const path of candidates) {
    if (await reader.exists(path)) {
      device = path
      break
    }
  }
  return [{ kind: 'jetson-gpu', bus: 'soc', device, model: board.model, driverVersion: board.l4tRelease, executionProvider: 'cuda' }]
}

async function coral(reader: RootReader): Promise<Accelerator[]> {
  const found: Accelerator[] = (await reader.list('/dev'))
    .filter((name) => /^apex_\d+$/.test(name))
    .map((name) => ({ kind: 'coral-edgetpu', bus: 'pcie', device: `/dev/${name}`, ...none, executionProvider: null }))
  for (const port of await reader.list('/sys/bus/usb/devices')) {
    const vendor = (await reader.text(`/sys/bus/usb/devices/${port}/idVendor`))?.trim()
    const product = (await reader.text(`/sys/bus/usb/devices/${port}/idProduct`))?.trim()
    if (vendor !== undefined && product !== undefined && CORAL_USB_IDS.has(`${vendor}:${product}`))
      found.push({ kind: 'coral-edgetpu', bus: 'usb', device: null, model: 'Coral USB Accelerator', driverVersion: null, executionProvider: null })
  }
  return found
}

async function hailo(reader: RootReader): Promise<Accelerator[]> {
  return (await reader.list('/dev'))
    .filter((name) => /^hailo\d+$/.test(name))
    .map((name) => ({ kind: 'hailo', bus: 'pcie', device: `/dev/${name}`, ...none, executionProvider: null }))
}

/** The DRIVER= line of a sysfs uevent file. */
const driverOf = (uevent: string | undefined): string | undefined => /^DRIVER=(.*)$/m.exec(uevent ?? '')?.[1]?.trim().toLowerCase()

async function rockchipNpu(reader: RootReader): Promise<Accelerator[]> {
  const npu = (device: string | null): Accelerator => ({ kind: 'rockchip-npu', bus: 'soc', device, ...none, executionProvider: null })
  // The vendor driver built as a misc device.
  if ((await reader.exists('/dev/rknpu')) || (await reader.exists('/sys/class/misc/rknpu'))) return [npu('/dev/rknpu')]
  // The vendor driver built as a DRM driver (the usual RK3588 BSP kernel).
  for (const card of (await reader.list('/sys/class/drm')).filter((name) => /^card\d+$/.test(name)))
    if (driverOf(await reader.text(`/sys/class/drm/${card}/device/uevent`)) === 'rknpu') return [npu(`/dev/dri/${card}`)]
  // Mainline Linux's accel driver for the RK3588 NPU ("rocket", drivers/accel/rocket).
  for (const accel of await reader.list('/sys/class/accel'))
    if (driverOf(await reader.text(`/sys/class/accel/${accel}/device/uevent`)) === 'rocket') return [npu(`/dev/accel/${accel}`)]
  return []
}

export async function detectAccelerators(reader: RootReader, board: Board): Promise<Accelerator[]> {
  // A Jetson's integrated GPU is not a PCIe device; only discrete GPUs listed by the driver count there.
  const gpus = board.kind === 'jetson' ? (await nvidiaGpus(reader)).filter((gpu) => gpu.model !== null) : await nvidiaGpus(reader)
  return [...gpus, ...(await jetsonGpu(reader, board)), ...(await coral(reader)), ...(await hailo(reader)), ...(await rockchipNpu(reader))]
}
