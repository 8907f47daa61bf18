// Which of a bundle's bootstrap addresses (and its fleet's gateway multiaddrs) the agent dials. An
// address without `/p2p/<peer id>` cannot be dialled as a known peer, so it is skipped — and every
// skip is logged with its reason, so `peers 0  gateways 0` is never a mystery.
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { ConfigError } from '../../protocols/index.js'

export interface BootstrapTargetsParameters {
  /** The configuration file the addresses come from, for the error naming a malformed one. */
  file: string
  /** The addresses, in order: the bundle's `bootstrap`, then each gateway's `multiaddrs`. */
  addresses: readonly string[]
  logger: Logger
}

/** The distinct dialable addresses; a malformed one is a ConfigError naming it. */
export function bootstrapTargets({ file, addresses, logger }: BootstrapTargetsParameters): Multiaddr[] {
  const targets: Multiaddr[] = []
  for (const text of addresses) {
    let ma: Multiaddr
    try {
      ma = multiaddr(text)
    } catch (err) {
      throw new ConfigError(file, 'bootstrap', `${text} is not a multiaddr (${err instanceof Error ? err.message : String(err)})`, { cause: err })
    }
    if (!ma.getComponents().some((c) => c.name === 'p2p'))
      logger.warn({ address: text, reason: 'no-peer-id' }, 'bootstrap address skipped: it has no /p2p/<peer id> (the gateway prints its peer id at `cw gateway init`)')
    else if (targets.some((d) => d.equals(ma))) logger.debug({ address: text, reason: 'duplicate' }, 'bootstrap address skipped: listed twice')
    else targets.push(ma)
  }
  if (addresses.length > 0 && targets.length === 0) logger.warn({ addresses: addresses.length }, 'no bootstrap address is dialable; only mDNS can find a gateway')
  return targets
}
