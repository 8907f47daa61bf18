// Registration and revocation of devices, behind an interface: in memory here, backed by the
// fleet's registry contract on chain later (issue 7).
import { getAddress, type Address } from 'viem'

export type DeviceStatus = 'registered' | 'revoked' | 'unknown'

export interface DeviceRegistry {
  status(device: Address, options?: { signal?: AbortSignal }): Promise<DeviceStatus>
}

export class InMemoryRegistry implements DeviceRegistry {
  readonly #devices = new Map<Address, DeviceStatus>()

  register(...devices: Address[]): void {
    for (const d of devices) if (this.#devices.get(getAddress(d)) !== 'revoked') this.#devices.set(getAddress(d), 'registered')
  }

  /** Revocation is final: a revoked device stays revoked even if registered again. */
  revoke(device: Address): void {
    this.#devices.set(getAddress(device), 'revoked')
  }

  async status(device: Address): Promise<DeviceStatus> {
    return this.#devices.get(getAddress(device)) ?? 'unknown'
  }
}
