// Option values the commands parse themselves: each refusal is a UsageError (exit 2) naming the flag.
import { getAddress, isAddress, type Address } from 'viem'
import { UsageError } from './usage-error.js'

/** A decimal integer in min..max. */
export const integer = (name: string, value: string, min: number, max: number): number => {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`${name} ${JSON.stringify(value)} is not an integer in ${min}..${max}`)
  return Number(value)
}

/** A 20-byte address, checksummed. */
export const address = (name: string, value: string): Address => {
  if (!isAddress(value, { strict: false })) throw new UsageError(`${name} ${JSON.stringify(value)} is not an address`)
  return getAddress(value)
}
