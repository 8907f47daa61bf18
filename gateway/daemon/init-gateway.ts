// `cw gateway init`: what a gateway needs before its first start, so that the fleet owner can list
// it in fleet.json (`cw fleet init --gateway ADDRESS=MULTIADDR/p2p/<peer id>` or `cw fleet
// set-gateway`) before it ever runs: the libp2p transport key in its data directory (its peer id)
// and, if asked, its key in the key store (its address, the account that pays for settlement).
import { mkdir } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { isIPv4, isIPv6 } from 'node:net'
import type { Address } from 'viem'
import { KeyNotFoundError, loadTransportKey, openKeyStore, readTransportKey } from '../../hardware/index.js'
import { GatewayInitError } from '../errors.js'
import type { GatewayConfig } from './config.js'

export interface InitGatewayParameters {
  config: Pick<GatewayConfig, 'file' | 'dataDir' | 'keyStore' | 'keyLabel' | 'listen'>
  /** Generate the gateway key when the store has none under keyLabel. */
  generateKey?: boolean
  /** The host agents reach the gateway at, put in place of a listen address's 0.0.0.0 or ::. */
  host?: string
}

export interface InitGatewayReturnType {
  address: Address
  peerId: string
  /** Whether this call made the transport key / the gateway key (false: they were there). */
  createdTransportKey: boolean
  generatedKey: boolean
  /** Where agents dial the gateway, each ending in /p2p/<peer id>; listen addresses on port 0 have none. */
  multiaddrs: string[]
  /** Listen addresses that could not be turned into one, and why. */
  skipped: { listen: string; reason: string }[]
}

const UNSPECIFIED = new Set(['0.0.0.0', '::'])

const hostComponent = (host: string): string => (isIPv4(host) ? `/ip4/${host}` : isIPv6(host) ? `/ip6/${host}` : `/dns/${host}`)

export async function initGateway(parameters: InitGatewayParameters): Promise<InitGatewayReturnType> {
  const { config, host } = parameters
  const existing = await readTransportKey({ dir: config.dataDir })
  // The key store is opened first: a gateway key that cannot be had leaves nothing written.
  const store = await openKeyStore(config.keyStore)
  let address: Address
  let generatedKey = false
  try {
    try {
      address = (await store.open(config.keyLabel)).address
    } catch (err) {
      if (!(err instanceof KeyNotFoundError)) throw err
      if (parameters.generateKey !== true) throw new GatewayInitError(config.file, `the key store has no key under ${JSON.stringify(config.keyLabel)}: run again with --generate-key, or make it with cw key generate`, { cause: err })
      await store.generate(config.keyLabel)
      address = (await store.open(config.keyLabel)).address
      generatedKey = true
    }
  } finally {
    await store.close()
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const key = existing ?? (await loadTransportKey({ dir: config.dataDir }))
  const peerId = peerIdFromPrivateKey(key).toString()
  const multiaddrs: string[] = []
  const skipped: InitGatewayReturnType['skipped'] = []
  for (const listen of config.listen) {
    const ma = multiaddr(listen)
    const components = ma.getComponents()
    const tcp = components.find((c) => c.name === 'tcp')
    if (tcp?.value === '0') {
      skipped.push({ listen, reason: 'port 0 is chosen at start: give listen a fixed port' })
      continue
    }
    const ip = components[0]
    if (ip !== undefined && (ip.name === 'ip4' || ip.name === 'ip6') && UNSPECIFIED.has(ip.value ?? '')) {
      if (host === undefined) {
        skipped.push({ listen, reason: `${ip.value ?? ''} is every interface: give --host, the address agents reach the gateway at` })
        continue
      }
      const rest = listen.slice(`/${ip.name}/${ip.value ?? ''}`.length)
      multiaddrs.push(`${hostComponent(host)}${rest}/p2p/${peerId}`)
      continue
    }
    multiaddrs.push(`${listen}/p2p/${peerId}`)
  }
  return { address, peerId, createdTransportKey: existing === undefined, generatedKey, multiaddrs, skipped }
}
