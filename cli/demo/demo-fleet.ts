// The demo's fleet, made the way a fleet owner makes one: `createFleet` deploys the contracts and
// writes fleet.json with the owner key in a file key store, and each device is enrolled through
// `provisionLocalDevices` — its key generated in its own key store, an enrolment request signed
// with it, a certificate issued by the owner, on-chain registration in one batch, and a device.json
// bundle. Running the demo again on the same data directory reuses the fleet and skips devices that
// are enrolled already (the provisioning journal).
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Address } from 'viem'
import type { FleetFile } from '../../protocols/index.js'
import { readFleetFile, type KeyStoreConfig } from '../../hardware/index.js'
import { readAgentBundle } from '../../edge-agent/daemon/index.js'
import { createFleet, provisionLocalDevices, type LocalDevice, type ProvisioningProgress, type SensorSettings } from '../../provisioning/index.js'

/** The agent settings of every demo device: loopback only, no mDNS, small rounds on 2 cores. */
export const DEMO_AGENT_SETTINGS = {
  dataDir: 'agent-data',
  listen: ['/ip4/127.0.0.1/tcp/0'],
  mdns: false,
  logLevel: 'info',
  engine: 'onnxruntime-web',
  validationFraction: 0.2,
  rollbackMargin: 0.1,
  attestations: { perMinute: 6 },
  training: { epochs: 5, batchSize: 16, learningRate: 0.1, minSamples: 8, threads: 1 },
} as const

export interface CreateDemoFleetParameters {
  file: string
  ownerStore: KeyStoreConfig
  ownerLabel: string
  gateway: Address
  rpcUrl: string
  chainId: number
}

/** Creates the fleet, or reads it back when the data directory holds one already. */
export async function createDemoFleet(p: CreateDemoFleetParameters): Promise<FleetFile> {
  if (existsSync(p.file)) return readFleetFile(p.file)
  const created = await createFleet({
    file: p.file,
    name: 'Counterweight demo fleet',
    owner: { keyStore: p.ownerStore, label: p.ownerLabel, generate: true },
    chain: { rpcUrl: p.rpcUrl, chainId: p.chainId },
    gateways: [p.gateway],
  })
  return created.fleet
}

export interface DemoBundle {
  /** device.json. */
  file: string
  device: Address
  /** The agent's status.json. */
  statusFile: string
}

export interface EnrolDemoDevicesParameters {
  count: number
  fleetFile: string
  ownerStore: KeyStoreConfig
  ownerLabel: string
  /** One directory per device is made under it. */
  dir: string
  keyStoreOf: (directory: string) => KeyStoreConfig
  bootstrap: readonly string[]
  /** The sensors of device `i` (0-based), given its directory. */
  sensorsFor: (i: number, dir: string) => Promise<SensorSettings[]>
  print: (line: string) => void
}

export async function enrolDemoDevices(p: EnrolDemoDevicesParameters): Promise<DemoBundle[]> {
  const devices: LocalDevice[] = []
  for (let i = 0; i < p.count; i++) {
    const dir = join(p.dir, `device-${i + 1}`)
    await mkdir(dir, { recursive: true })
    devices.push({
      key: { keyStore: p.keyStoreOf(join(dir, 'keys')), label: 'device' },
      transportKeyDir: join(dir, 'transport'),
      serial: `demo-${String(i + 1).padStart(3, '0')}`,
      bundle: join(dir, 'device.json'),
      sensors: await p.sensorsFor(i, dir),
      bootstrap: p.bootstrap,
      agent: { ...DEMO_AGENT_SETTINGS },
    })
  }
  let lastPhase = ''
  const result = await provisionLocalDevices({
    fleet: p.fleetFile,
    owner: { keyStore: p.ownerStore, label: p.ownerLabel },
    stateDir: join(p.dir, 'owner-state'),
    devices,
    onProgress: (progress: ProvisioningProgress) => {
      // One line per phase, and its last count.
      if (progress.phase !== lastPhase && progress.done === progress.total) p.print(`enrol     ${progress.phase} ${progress.done}/${progress.total}`)
      if (progress.done === progress.total) lastPhase = progress.phase
    },
  })
  if (result.rejected.length > 0) {
    const first = result.rejected[0]
    throw new Error(`${result.rejected.length} device(s) could not be enrolled; first: ${first?.source ?? '?'}: ${first?.error.message ?? ''}`)
  }
  const byBundle = new Map([...result.enrolled, ...result.skipped].map((d) => [d.bundle, d]))
  const bundles: DemoBundle[] = []
  for (const d of devices) {
    const enrolled = byBundle.get(d.bundle)
    if (enrolled === undefined) throw new Error(`device ${d.serial} was neither enrolled nor found enrolled`)
    // Read back as the agent will read it: a bundle the agent would refuse fails here, named.
    const agent = await readAgentBundle(d.bundle)
    p.print(`device    ${enrolled.device}  ${d.serial}${result.skipped.includes(enrolled) ? '  (enrolled before)' : ''}`)
    bundles.push({ file: d.bundle, device: enrolled.device, statusFile: agent.statusFile })
  }
  return bundles
}
