// The gateway's DeviceRegistry (gateway/verify/registry.ts) backed by the fleet's FleetRegistry
// contract: every status is read from the chain, so a revocation counts from the next submission.
import { getAddress, isAddress, type Address, type Client } from 'viem'
import { readContract } from 'viem/actions'
import { fleetRegistryAbi } from '../../protocols/contracts/index.js'
import { ContractReadError, InvalidArgumentError } from '../../protocols/index.js'
import type { DeviceRegistry, DeviceStatus } from '../verify/registry.js'

const STATUSES: readonly DeviceStatus[] = ['unknown', 'registered', 'revoked']

export interface ChainRegistryParameters {
  client: Client
  registry: Address
}

export class ChainRegistry implements DeviceRegistry {
  readonly #client: Client
  readonly #registry: Address

  constructor(parameters: ChainRegistryParameters) {
    if (!isAddress(parameters.registry, { strict: false })) throw new InvalidArgumentError('registry', 'expected a 20-byte address')
    this.#client = parameters.client
    this.#registry = getAddress(parameters.registry)
  }

  /** The device's status on chain. A node that does not answer throws ContractReadError. */
  async status(device: Address, options: { signal?: AbortSignal } = {}): Promise<DeviceStatus> {
    options.signal?.throwIfAborted()
    if (!isAddress(device, { strict: false })) throw new InvalidArgumentError('device', 'expected a 20-byte address')
    let code: number
    try {
      code = await readContract(this.#client, { address: this.#registry, abi: fleetRegistryAbi, functionName: 'status', args: [getAddress(device)] })
    } catch (err) {
      throw new ContractReadError('FleetRegistry.status', { cause: err })
    }
    return STATUSES[code] ?? 'unknown'
  }
}
