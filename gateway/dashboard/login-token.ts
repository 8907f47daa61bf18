// The dashboard's sign-in link. `cw gateway login` signs a short text (EIP-191 personal message,
// so that any Ethereum wallet could sign it too) with an operator key from a file or PKCS#11 key
// store; the link carries it after `#`, which browsers never send to a server or put in a
// Referer. The page posts it once to the gateway, which checks the signature, that the key is
// an operator the fleet file lists, that the link is for this gateway and fleet and not expired,
// and that its nonce was not used before; then it sets a session cookie.
import { randomBytes } from 'node:crypto'
import { getAddress, hashMessage, isAddress, isHex, recoverAddress, type Address, type Hex } from 'viem'
import { z } from 'zod'
import { DashboardAuthError } from '../errors.js'
import { DEFAULT_LOGIN_TTL_SECONDS, MAX_LOGIN_TOKEN_CHARS, MAX_LOGIN_TTL_SECONDS } from './constants.js'

export interface LoginClaims {
  gateway: Address
  fleet: Hex
  operator: Address
  /** 16 random bytes, hex: a link signs in once. */
  nonce: Hex
  /** Unix seconds. */
  expires: number
}

export interface LoginToken extends LoginClaims {
  signature: Hex
}

const hex = (bytes: number) => z.string().refine((v) => isHex(v, { strict: true }) && v.length === 2 + 2 * bytes, `expected ${bytes} bytes of hex`)
const tokenSchema = z.strictObject({
  gateway: z.string().refine((v) => isAddress(v, { strict: false }), 'expected an address'),
  fleet: hex(32),
  operator: z.string().refine((v) => isAddress(v, { strict: false }), 'expected an address'),
  nonce: hex(16),
  expires: z.number().int().positive(),
  signature: hex(65),
})

/** The text the operator signs: readable, so that a wallet that shows it shows what it grants. */
export function loginMessage(c: LoginClaims): string {
  return [
    'Sign in to the Counterweight gateway dashboard',
    `gateway: ${getAddress(c.gateway)}`,
    `fleet: ${c.fleet.toLowerCase()}`,
    `operator: ${getAddress(c.operator)}`,
    `nonce: ${c.nonce.toLowerCase()}`,
    `expires: ${c.expires}`,
  ].join('\n')
}

export interface CreateLoginTokenParameters {
  gateway: Address
  fleet: Hex
  signer: { address: Address; signDigest(digest: Hex): Promise<Hex> }
  /** Seconds the link is valid for; default DEFAULT_LOGIN_TTL_SECONDS. */
  ttlSeconds?: number
  /** Unix seconds. */
  now?: number
}

/** Signs a sign-in token; the text goes after `#` in the dashboard URL. */
export async function createLoginToken(p: CreateLoginTokenParameters): Promise<string> {
  const ttl = p.ttlSeconds ?? DEFAULT_LOGIN_TTL_SECONDS
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LOGIN_TTL_SECONDS) throw new DashboardAuthError('ttl', `ttlSeconds must be an integer in 1..${MAX_LOGIN_TTL_SECONDS}`)
  const claims: LoginClaims = {
    gateway: getAddress(p.gateway),
    fleet: p.fleet.toLowerCase() as Hex,
    operator: getAddress(p.signer.address),
    nonce: `0x${randomBytes(16).toString('hex')}`,
    expires: (p.now ?? Math.floor(Date.now() / 1000)) + ttl,
  }
  const signature = await p.signer.signDigest(hashMessage(loginMessage(claims)))
  // Re-verified right away: a key store that signs wrong fails here, not in the browser.
  if (!isAddressEqualish(await recoverAddress({ hash: hashMessage(loginMessage(claims)), signature }), claims.operator))
    throw new DashboardAuthError('signature', 'the key store produced a signature that does not recover to its own address')
  return Buffer.from(JSON.stringify({ ...claims, signature } satisfies LoginToken), 'utf8').toString('base64url')
}

const isAddressEqualish = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase()

export interface CheckLoginTokenParameters {
  gateway: Address
  fleet: Hex
  operators: readonly Address[]
  now: number
}

/** Decodes and checks a token; DashboardAuthError names what is wrong. It does not consume the nonce. */
export async function checkLoginToken(text: string, p: CheckLoginTokenParameters): Promise<LoginToken> {
  if (text.length > MAX_LOGIN_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw new DashboardAuthError('malformed', 'the sign-in link is malformed')
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw new DashboardAuthError('malformed', 'the sign-in link is malformed')
  }
  const parsed = tokenSchema.safeParse(value)
  if (!parsed.success) throw new DashboardAuthError('malformed', `the sign-in link is malformed (${parsed.error.issues[0]?.path.join('.') ?? ''})`)
  const token: LoginToken = {
    ...parsed.data,
    gateway: getAddress(parsed.data.gateway),
    operator: getAddress(parsed.data.operator),
    fleet: parsed.data.fleet as Hex,
    nonce: parsed.data.nonce as Hex,
    signature: parsed.data.signature as Hex,
  }
  if (!isAddressEqualish(token.gateway, p.gateway)) throw new DashboardAuthError('gateway', `the sign-in link is for gateway ${token.gateway}, not this one`)
  if (!isAddressEqualish(token.fleet, p.fleet)) throw new DashboardAuthError('fleet', 'the sign-in link is for another fleet')
  if (token.expires <= p.now) throw new DashboardAuthError('expired', 'the sign-in link expired: run cw gateway login again')
  if (token.expires > p.now + MAX_LOGIN_TTL_SECONDS) throw new DashboardAuthError('malformed', `the sign-in link is valid for more than ${MAX_LOGIN_TTL_SECONDS} s`)
  let signer: Address
  try {
    signer = await recoverAddress({ hash: hashMessage(loginMessage(token)), signature: token.signature })
  } catch {
    throw new DashboardAuthError('signature', 'the sign-in link has a malformed signature')
  }
  if (!isAddressEqualish(signer, token.operator)) throw new DashboardAuthError('signature', 'the sign-in link is not signed by the key it names')
  if (!p.operators.some((o) => isAddressEqualish(o, token.operator))) throw new DashboardAuthError('not-operator', `${token.operator} is not an operator of this fleet (fleet.json owner or operators)`)
  return token
}
