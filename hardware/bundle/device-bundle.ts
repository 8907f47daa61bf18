// `device.json`, the device bundle: everything a device needs to join its fleet — the fleet file,
// its address and peer id, the owner-signed DeviceCertificate, where its key lives (a key-store
// reference, never the key), where its libp2p transport key lives, the bootstrap multiaddrs and
// its sensors. Written by `cw device enroll`, read by `cw agent start`. It holds no secret.
// The `agent` section (the daemon's own settings) is validated by the agent.
import { dirname, isAbsolute, resolve } from 'node:path'
import type { Address, Hex } from 'viem'
// Value imports from viem/utils and single protocols/ modules, not the barrels: `cw agent status`
// reads this file and should not load the chain client to do it.
import { bytesToHex, getAddress, hexToBytes, isHex } from 'viem/utils'
import { z } from 'zod'
import { addressSchema } from '../../protocols/eip712/schemas.js'
import { ConfigError } from '../../protocols/errors.js'
import { decodeSigned, encodeSigned } from '../../protocols/wire/codec.js'
import { fleetFileSchema, multiaddrTextSchema, type FleetFile } from '../../protocols/config/fleet-file.js'
import { parseConfig } from '../../protocols/config/parse-config.js'
import type { Signed } from '../../protocols/eip712/schemas.js'
import { hardwareProfileSchema } from '../accelerators/hardware-profile.js'
import { keyStoreConfigSchema, mapKeyStorePaths } from '../keys/key-store-config.js'
import { readJsonConfig, writeJsonConfig } from './config-file.js'

export const DEVICE_BUNDLE_VERSION = 1
const MAX_SENSORS = 16
const MAX_BOOTSTRAP = 32

const certificateHexSchema = z.string().refine((h) => isHex(h, { strict: true }) && h.length > 2 && h.length <= 2 + 2 * 4096, 'expected the hex of a wire-encoded DeviceCertificate')

export const deviceBundleSchema = z.strictObject({
  version: z.literal(DEVICE_BUNDLE_VERSION).describe('format version of this file'),
  fleet: fleetFileSchema.describe('a copy of the fleet file (see fleet.json above) the device belongs to'),
  device: addressSchema.transform((a) => getAddress(a)).describe("the device's address: the Ethereum address of its signing key"),
  peerId: z.string().min(1).max(128).describe('the libp2p peer id of its transport key'),
  serial: z.string().min(1).max(128).describe("the board's serial number, as in its certificate"),
  /** The owner-signed certificate, wire-encoded (protocols/wire) as 0x-hex. */
  certificate: certificateHexSchema.describe('the owner-signed DeviceCertificate, wire-encoded, as 0x-hex'),
  /** Where the device key lives, and its label there. */
  keyStore: keyStoreConfigSchema.describe('where the device key lives: see Key store below'),
  keyLabel: z.string().min(1).max(64).describe('the label of the device key in that key store'),
  /** The directory of the libp2p transport key file (hardware/keys/transport-key.ts). */
  transportKeyDir: z.string().min(1).describe('directory of the libp2p transport key; relative to device.json'),
  bootstrap: z.array(multiaddrTextSchema).max(MAX_BOOTSTRAP).default([]).describe("multiaddrs dialled at start besides the fleet's gateways; each must end in /p2p/<peer id> (others are logged as skipped)"),
  /** Sensor configurations (hardware/sensors), each validated by its driver when opened. */
  sensors: z.array(z.looseObject({ driver: z.string().describe('the sensor driver: `replay`, `synthetic`, `serial-line` or `firmata`'), id: z.string().describe('the sensor\'s name, unique on the device') })).max(MAX_SENSORS).default([]).describe('sensor configurations, each validated by its driver: see the Sensor sections below'),
  hardware: hardwareProfileSchema.optional().describe('the hardware profile `cw device request` detected on the board (informational)'),
  /** The agent daemon's settings (edge-agent validates them). */
  agent: z.record(z.string(), z.unknown()).optional().describe("the agent daemon's settings: see device.json `agent` below"),
})

export type DeviceBundleInput = z.input<typeof deviceBundleSchema>
export type DeviceBundle = Omit<z.output<typeof deviceBundleSchema>, 'fleet' | 'device' | 'certificate'> & {
  fleet: FleetFile
  device: Address
  certificate: Hex
}

/** Validates a parsed device.json, including that its certificate decodes and names this device, fleet and peer. */
export function parseDeviceBundle(value: unknown, file = 'device.json'): DeviceBundle {
  const bundle = parseConfig(file, deviceBundleSchema, value) as DeviceBundle
  const cert = certificateOf(bundle, file)
  const m = cert.message
  if (getAddress(m.device) !== bundle.device) throw new ConfigError(file, 'certificate', `names device ${m.device}, not ${bundle.device}`)
  if (m.fleet.toLowerCase() !== bundle.fleet.fleet.toLowerCase()) throw new ConfigError(file, 'certificate', `names fleet ${m.fleet}, not ${bundle.fleet.fleet}`)
  if (m.peerId !== bundle.peerId) throw new ConfigError(file, 'certificate', `names peer ${m.peerId}, not ${bundle.peerId}`)
  return bundle
}

/** The bundle's certificate, decoded strictly. */
export function certificateOf(bundle: Pick<DeviceBundle, 'certificate'>, file = 'device.json'): Signed<'DeviceCertificate'> {
  try {
    return decodeSigned('DeviceCertificate', hexToBytes(bundle.certificate))
  } catch (err) {
    throw new ConfigError(file, 'certificate', (err as Error).message, { cause: err })
  }
}

/** The hex a bundle stores for a certificate. */
export function certificateHex(certificate: Signed<'DeviceCertificate'>): Hex {
  return bytesToHex(encodeSigned('DeviceCertificate', certificate))
}

/** Reads device.json; its key store's and transport key's relative paths are made absolute against the file's directory. */
export async function readDeviceBundle(file: string): Promise<DeviceBundle> {
  const bundle = await readJsonConfig(file, parseDeviceBundle)
  return resolveBundlePaths(bundle, dirname(resolve(file)))
}

/** The bundle with keyStore and transportKeyDir absolute, relative paths taken from `baseDir` (the directory of device.json). */
export function resolveBundlePaths(bundle: DeviceBundle, baseDir: string): DeviceBundle {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p))
  return { ...bundle, keyStore: mapKeyStorePaths(bundle.keyStore, at), transportKeyDir: at(bundle.transportKeyDir) }
}

/** Validates, then writes atomically. */
export async function writeDeviceBundle(file: string, bundle: DeviceBundleInput): Promise<void> {
  parseDeviceBundle(bundle, file)
  await writeJsonConfig(file, bundle)
}
