// Gives an account ether on a development chain (`cw chain serve`, `hardhat node`, anvil), for
// gas: the owner's, a gateway's, a device paying for its own claim. A real chain has no such call,
// and is refused with NotDevelopmentChainError.
import { createPublicClient, createTestClient, http, RpcError, RpcRequestError, type Address } from 'viem'
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

// viem's test actions: mode 'hardhat' sends hardhat_setBalance (Hardhat, EDR), 'anvil' anvil_setBalance.
const TEST_MODES = ['hardhat', 'anvil'] as const

export async function fundAccount({ rpcUrl, address, amount }: FundAccountParameters): Promise<FundAccountReturnType> {
  const transport = http(rpcUrl, { retryCount: 0 })
  const client = createPublicClient({ transport })
  const before = await client.getBalance({ address })
  let refused: unknown
  for (const mode of TEST_MODES) {
    try {
      await createTestClient({ mode, transport }).setBalance({ address, value: before + amount })
      return { address, before, balance: await client.getBalance({ address }) }
    } catch (err) {
      // A JSON-RPC error answer (method not found, not supported) means: try the next name.
      if (!(err instanceof RpcError || err instanceof RpcRequestError)) throw err
      refused = err
    }
  }
  throw new NotDevelopmentChainError(rpcUrl, { cause: refused })
}
