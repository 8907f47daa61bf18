// `cw rewards claim`: claims every round a device has an unclaimed reward in, in one transaction.
// The proofs are rebuilt from the public round records (a directory of blobs named by sha256,
// found by the record hash each round's settlement holds) and checked against the chain's roots
// before anything is sent. The key that pays the gas comes from the device bundle's key store, or
// from a key-store configuration file; its password or PIN comes from the file or environment
// variable that configuration names, never from the command line.
// This is the implementation, loaded when the command runs; cli/commands/rewards.ts defines its options.
import { getAddress, isAddress, type Address } from 'viem'
import { collectCumulativeClaim, collectRewardClaims, parseConfig, type FleetFile } from '../../protocols/index.js'
import { keyStoreConfigSchema, openKeyStore, readDeviceBundle, readFleetFile, readJsonConfig, type DeviceBundle, type KeyStoreConfig } from '../../hardware/index.js'
import { claimCumulativeReward, claimRewards, connectChain, signerToAccount, type ChainConnection } from '../../gateway/settlement/index.js'
import { toJson } from '../output.js'
import { readBlob } from '../commands/blob-directory.js'
import { UsageError } from '../usage-error.js'

export interface ClaimOptions {
  config?: string
  device?: string
  fleet?: string
  records: string
  keyStore?: string
  keyLabel?: string
  rpc?: string
  dryRun?: boolean
  json?: boolean
}

export interface PayingKey {
  config: KeyStoreConfig
  label: string
}

/** The key that pays for the claim: --key-store and --key-label, else the bundle's. */
async function payingKey(options: ClaimOptions, bundle: DeviceBundle | undefined): Promise<PayingKey | undefined> {
  const label = options.keyLabel ?? bundle?.keyLabel
  if (options.keyStore !== undefined) {
    if (label === undefined) throw new UsageError('--key-store needs --key-label')
    const file = options.keyStore
    return { config: await readJsonConfig(file, (value) => parseConfig(file, keyStoreConfigSchema, value)), label }
  }
  if (bundle === undefined) return undefined
  return { config: bundle.keyStore, label: label ?? bundle.keyLabel }
}

function deviceOf(options: ClaimOptions, bundle: DeviceBundle | undefined): Address {
  if (options.device !== undefined) {
    if (!isAddress(options.device, { strict: false })) throw new UsageError(`--device ${JSON.stringify(options.device)} is not an address`)
    return getAddress(options.device)
  }
  if (bundle === undefined) throw new UsageError('name the device: --device <address>, or --config <device.json>')
  return bundle.device
}

export async function rewardsClaimCommand(options: ClaimOptions): Promise<void> {
  const bundle = options.config === undefined ? undefined : await readDeviceBundle(options.config)
  const fleet: FleetFile | undefined = options.fleet === undefined ? bundle?.fleet : await readFleetFile(options.fleet)
  if (fleet === undefined) throw new UsageError('name the fleet: --fleet <fleet.json>, or --config <device.json>')
  const device = deviceOf(options, bundle)
  const key = options.dryRun === true ? undefined : await payingKey(options, bundle)
  if (options.dryRun !== true && key === undefined) throw new UsageError('a claim needs a key to pay its gas: --config <device.json>, or --key-store <file> with --key-label')
  const rpcUrl = options.rpc ?? fleet.chain.rpcUrl
  if (rpcUrl === undefined) throw new UsageError('the fleet file names no chain.rpcUrl: give --rpc <url>')

  const connection = await connectChain({ config: { rpcUrl, chainId: fleet.chain.chainId, confirmations: fleet.chain.confirmations } })
  try {
    if (fleet.contracts.leaves === 'cumulative') {
      await claimCumulative(connection, fleet, device, key, options)
      return
    }
    const collected = await collectRewardClaims(connection.publicClient, {
      ledger: fleet.contracts.ledger,
      rewards: fleet.contracts.rewards,
      device,
      fromBlock: BigInt(fleet.contracts.deployedAt),
      fetchRecord: (hash) => readBlob(options.records, hash),
    })
    const claimed = collected.claims.map((c) => ({ round: c.leaf.round, score: c.leaf.score }))
    const skipped = collected.skipped.map((s) => ({ round: s.round, reason: s.reason }))
    const result = { device, amount: collected.total, claimed, tx: null as string | null, blockNumber: null as bigint | null, gasUsed: null as bigint | null, skipped }
    if (collected.claims.length === 0 || options.dryRun === true || key === undefined) {
      const message = collected.claims.length === 0 ? 'nothing to claim' : `dry run: would claim ${collected.total} for ${claimed.length} round(s)`
      if (options.json === true) console.log(toJson({ ...result, dryRun: options.dryRun === true, message }))
      else console.log(`${device}: ${message}`)
      return
    }
    const store = await openKeyStore(key.config)
    let receipt
    try {
      const account = signerToAccount({ signer: await store.open(key.label) })
      receipt = await claimRewards(connection, { account, rewards: fleet.contracts.rewards, device, claims: collected.claims })
    } finally {
      await store.close()
    }
    const sent = { ...result, tx: receipt.transactionHash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed }
    if (options.json === true) console.log(toJson(sent))
    else {
      for (const c of claimed) console.log(`round ${c.round}: ${c.score}`)
      console.log(`${device}: claimed ${collected.total} for ${claimed.length} round(s) in ${receipt.transactionHash} (gas ${receipt.gasUsed})`)
    }
  } finally {
    await connection.close()
  }
}

/**
 * A RewardLedger fleet: one claim of the device's leaf in the latest round whose root the records
 * rebuild, paying its total to date less what it has claimed. Rounds whose settled root the
 * records do not rebuild are listed as skipped (an older root still pays what it holds).
 */
async function claimCumulative(connection: ChainConnection, fleet: FleetFile, device: Address, key: PayingKey | undefined, options: ClaimOptions): Promise<void> {
  const collected = await collectCumulativeClaim(connection.publicClient, {
    ledger: fleet.contracts.ledger,
    device,
    fromBlock: BigInt(fleet.contracts.deployedAt),
    fetchRecord: (hash) => readBlob(options.records, hash),
  })
  const skipped = collected.rounds.filter((r) => r.status !== 'match').map((r) => ({ round: r.round, reason: r.status, ...(r.problem === undefined ? {} : { problem: r.problem }) }))
  const result = {
    device,
    leaves: 'cumulative' as const,
    amount: collected.due,
    round: collected.claim?.round ?? null,
    cumulativeAmount: collected.claim?.leaf.cumulativeAmount ?? null,
    alreadyClaimed: collected.claimed,
    tx: null as string | null,
    blockNumber: null as bigint | null,
    gasUsed: null as bigint | null,
    skipped,
  }
  const claim = collected.claim
  if (claim === undefined || collected.due === 0n || options.dryRun === true || key === undefined) {
    const message =
      claim === undefined ? 'nothing to claim' : collected.due === 0n ? `nothing to claim: all ${claim.leaf.cumulativeAmount} earned up to round ${claim.round} is claimed` : `dry run: would claim ${collected.due} (total ${claim.leaf.cumulativeAmount} to round ${claim.round}, ${collected.claimed} claimed before)`
    if (options.json === true) console.log(toJson({ ...result, dryRun: options.dryRun === true, message }))
    else console.log(`${device}: ${message}`)
    return
  }
  const store = await openKeyStore(key.config)
  let receipt
  try {
    const account = signerToAccount({ signer: await store.open(key.label) })
    receipt = await claimCumulativeReward(connection, { account, ledger: fleet.contracts.ledger, round: claim.round, leaf: claim.leaf, proof: claim.proof })
  } finally {
    await store.close()
  }
  const sent = { ...result, tx: receipt.transactionHash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed }
  if (options.json === true) console.log(toJson(sent))
  else {
    for (const r of skipped) console.log(`round ${r.round}: skipped (${r.reason})`)
    console.log(`${device}: claimed ${collected.due} (total ${claim.leaf.cumulativeAmount} to round ${claim.round}) in ${receipt.transactionHash} (gas ${receipt.gasUsed})`)
  }
}
