// Which board this is: a Raspberry Pi (device-tree model), an NVIDIA Jetson (/etc/nv_tegra_release),
// a Rockchip board (device-tree compatible), or a generic machine (a PC's DMI product name).
import type { BoardKind, HardwareProfile } from './hardware-profile.js'
import { deviceTreeStrings, type RootReader } from './read-root.js'

export type Board = HardwareProfile['board']

/** The device tree as /proc exposes it, and where sysfs keeps the same. */
const DEVICE_TREE_ROOTS = ['/proc/device-tree', '/sys/firmware/devicetree/base']

async function deviceTree(reader: RootReader, property: string): Promise<string | undefined> {
  for (const base of DEVICE_TREE_ROOTS) {
    const value = await reader.text(`${base}/${property}`)
    if (value !== undefined) return value
  }
  return undefined
}

/**
 * The L4T release from the first line of /etc/nv_tegra_release, e.g.
 * `# R36 (release), REVISION: 3.0, GCID: …` → `36.3.0`.
 */
export function parseTegraRelease(text: string | undefined): string | null {
  const match = /^#\s*R(\d+)\s*\(release\),\s*REVISION:\s*(\d+(?:\.\d+)*)/m.exec(text ?? '')
  return match === null ? null : `${match[1]}.${match[2]}`
}

const clean = (value: string | undefined): string | null => {
  const trimmed = value?.replace(/\0/g, '').trim()
  return trimmed === undefined || trimmed === '' ? null : trimmed
}

function kindOf(model: string | null, compatible: string[], tegra: boolean): BoardKind {
  if (tegra || compatible.some((c) => c.startsWith('nvidia,tegra'))) return 'jetson'
  if ((model ?? '').startsWith('Raspberry Pi') || compatible.some((c) => c.startsWith('raspberrypi,'))) return 'raspberry-pi'
  if (compatible.some((c) => c.startsWith('rockchip,'))) return 'rockchip'
  return 'generic'
}

export async function detectBoard(reader: RootReader, cpuBoardModel: string | null): Promise<Board> {
  const compatible = deviceTreeStrings(await deviceTree(reader, 'compatible')).slice(0, 64)
  const tegraText = await reader.text('/etc/nv_tegra_release')
  const model =
    clean(await deviceTree(reader, 'model')) ?? cpuBoardModel ?? clean(await reader.text('/sys/class/dmi/id/product_name'))
  const vendor = clean(await reader.text('/sys/class/dmi/id/sys_vendor')) ?? compatible[0]?.split(',')[0] ?? null
  return {
    kind: kindOf(model, compatible, tegraText !== undefined),
    model,
    vendor,
    compatible,
    l4tRelease: parseTegraRelease(tegraText),
  }
}
