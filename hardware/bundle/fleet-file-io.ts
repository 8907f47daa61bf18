// Reading and writing fleet.json (schema in protocols/config/fleet-file.ts).
import { parseFleetFile, type FleetFile, type FleetFileInput } from '../../protocols/config/fleet-file.js'
import { readJsonConfig, writeJsonConfig } from './config-file.js'

export async function readFleetFile(file: string): Promise<FleetFile> {
  return readJsonConfig(file, (value, f) => parseFleetFile(value, f))
}

/** Validates, then writes atomically. */
export async function writeFleetFile(file: string, fleet: FleetFileInput): Promise<void> {
  parseFleetFile(fleet, file)
  await writeJsonConfig(file, fleet)
}
