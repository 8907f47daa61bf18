// `cw chain fund`: the work, loaded only when the command runs.
import { formatEther, parseEther, type Address } from 'viem'
import { fundAccount } from '../../hardware/chain/fund-account.js'
import { toJson } from '../output.js'
import { UsageError } from './decode.js'

export async function fund(address: Address, options: { rpcUrl: string; amount: string; json?: boolean }): Promise<void> {
  if (!/^\d+(\.\d{1,18})?$/.test(options.amount) || parseEther(options.amount) === 0n) throw new UsageError(`--amount expects a positive number of ether, got ${JSON.stringify(options.amount)}`)
  const result = await fundAccount({ rpcUrl: options.rpcUrl, address, amount: parseEther(options.amount) })
  if (options.json === true) console.log(toJson(result))
  else console.log(`${address} now holds ${formatEther(result.balance)} ether (was ${formatEther(result.before)})`)
}
