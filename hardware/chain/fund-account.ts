// Gives an account ether on a development chain (`cw chain serve`, `hardhat node`, anvil), for
// gas: the owner's, a gateway's, a device paying for its own claim. A real chain has no such call,
// and is refused with NotDevelopmentChainError.
import { createPublicClient, http, numberToHex, RpcError, RpcRequestError, type Address } from 'viem'
import { NotDevelopmentChainError } from '../errors.js'

export interface FundAccountParameters {
  rpcUrl: string
  address: Address
  /** Wei added to the account's balance. */
  amount: bigint
}

export interface FundAccountReturnType {
  address: Address
  before: bigint
  balance: bigint
}

// Hardhat and EDR spell it hardhat_setBalance; anvil answers both.
const SET_BALANCE = ['hardhat_setBalance', 'anvil_setBalance'] as const

export async function fundAccount({ rpcUrl, address, amount }: FundAccountParameters): Promise<FundAccountReturnType> {
  const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }) })
  const before = await client.getBalance({ address })
  let refused: unknown
  for (const method of SET_BALANCE) {
    try {
      // viem's typed request lists only standard methods; these two are the development nodes' own.
      await client.request({ method: method as 'eth_chainId', params: [address, numberToHex(before + amount)] as unknown as undefined })
      return { address, before, balance: await client.getBalance({ address }) }
    } catch (err) {
      // A JSON-RPC error answer (method not found, not supported) means: try the next name.
      if (!(err instanceof RpcError || err instanceof RpcRequestError)) throw err
      refused = err
    }
  }
  throw new NotDevelopmentChainError(rpcUrl, { cause: refused })
}
