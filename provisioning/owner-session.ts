// What every owner-side operation starts with: the fleet file, the owner's key (checked against
// the owner the fleet names), a chain connection and, where the operation records anything, the
// state directory's journal. Opened in that order and closed in reverse, whatever fails.
import type { Logger } from 'pino'
import { pino } from 'pino'
import { isAddressEqual } from 'viem'
import { parseFleetFile, type FleetFile } from '../protocols/index.js'
import { connectChain, readFleetFile, type ChainConnection, type KeyStoreConfig } from '../hardware/index.js'
import { DEFAULT_OWNER_KEY_LABEL } from './constants.js'
import { FleetSetupError, OwnerMismatchError } from './errors.js'
import { ProvisioningJournal } from './journal.js'
import { openOwnerKey, type OwnerKey } from './key-stores.js'
import type { ProgressListener } from './progress.js'

/** The fleet owner's key: the key store it lives in and its label there. */
export interface OwnerKeyParameters {
  keyStore: KeyStoreConfig
  /** DEFAULT_OWNER_KEY_LABEL (`owner`) when absent. */
  label?: string
}

/** What every provisioning operation takes besides its own parameters. */
export interface ProvisioningOptions {
  /** The environment that `{ env: NAME }` password and PIN sources read; process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>
  logger?: Logger
  signal?: AbortSignal
  onProgress?: ProgressListener
  /**
   * An open connection to the fleet's chain. Without one, the operation connects to the fleet's
   * `chain.rpcUrl` and closes the connection when done.
   */
  connection?: ChainConnection
}

export interface OwnerSession {
  fleet: FleetFile
  owner: OwnerKey
  connection: ChainConnection
  journal: ProvisioningJournal | undefined
  logger: Logger
  close(): Promise<void>
}

/** Reads a fleet file, or validates one given as an object. */
export async function loadFleet(fleet: string | FleetFile): Promise<FleetFile> {
  return typeof fleet === 'string' ? readFleetFile(fleet) : parseFleetFile(fleet)
}

export interface ConnectFleetChainParameters extends Pick<ProvisioningOptions, 'connection' | 'logger' | 'signal'> {
  fleet: FleetFile
}

/** The fleet's chain: the connection given, or one to the fleet's RPC URL (checked to be its chain id). */
export async function connectFleetChain(parameters: ConnectFleetChainParameters): Promise<{ connection: ChainConnection; close: () => Promise<void> }> {
  const { fleet, connection } = parameters
  if (connection !== undefined) {
    if (connection.chain.id !== fleet.chain.chainId)
      throw new FleetSetupError('connection', `is to chain ${connection.chain.id}, the fleet is on chain ${fleet.chain.chainId}`)
    return { connection, close: async () => undefined }
  }
  const rpcUrl = fleet.chain.rpcUrl
  if (rpcUrl === undefined) throw new FleetSetupError('chain.rpcUrl', 'the fleet runs on an embedded EVM that only its own process reaches; give a JSON-RPC URL')
  const opened = await connectChain({
    config: { rpcUrl, chainId: fleet.chain.chainId, confirmations: fleet.chain.confirmations },
    ...(parameters.logger === undefined ? {} : { logger: parameters.logger }),
    ...(parameters.signal === undefined ? {} : { signal: parameters.signal }),
  })
  return { connection: opened, close: () => opened.close() }
}

export interface OpenOwnerSessionParameters extends ProvisioningOptions {
  fleet: string | FleetFile
  owner: OwnerKeyParameters
  /** The state directory whose journal the operation records in; none for read-only work. */
  stateDir?: string
}

export async function openOwnerSession(parameters: OpenOwnerSessionParameters): Promise<OwnerSession> {
  const logger = (parameters.logger ?? pino({ enabled: false })).child({ component: 'provisioning' })
  const fleet = await loadFleet(parameters.fleet)
  const closers: (() => Promise<void>)[] = []
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c()
  }
  try {
    const owner = await openOwnerKey({
      config: parameters.owner.keyStore,
      label: parameters.owner.label ?? DEFAULT_OWNER_KEY_LABEL,
      logger,
      ...(parameters.env === undefined ? {} : { env: parameters.env }),
      ...(parameters.signal === undefined ? {} : { signal: parameters.signal }),
    })
    closers.push(() => owner.close())
    if (!isAddressEqual(owner.signer.address, fleet.owner)) throw new OwnerMismatchError(fleet.owner, owner.signer.address)
    const chain = await connectFleetChain({ fleet, logger, ...pick(parameters) })
    closers.push(chain.close)
    let journal: ProvisioningJournal | undefined
    if (parameters.stateDir !== undefined) {
      journal = await ProvisioningJournal.open(parameters.stateDir)
      const held = journal
      closers.push(() => held.close())
    }
    return { fleet, owner, connection: chain.connection, journal, logger, close }
  } catch (err) {
    await close()
    throw err
  }
}

const pick = (p: ProvisioningOptions): Pick<ProvisioningOptions, 'connection' | 'signal'> => ({
  ...(p.connection === undefined ? {} : { connection: p.connection }),
  ...(p.signal === undefined ? {} : { signal: p.signal }),
})

/** Unix seconds now. */
export const unixNow = (): number => Math.floor(Date.now() / 1000)
