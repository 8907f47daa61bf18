// Turns what pkcs11js throws into this project's typed errors. pkcs11js throws an Error whose
// message is the CKR_ name and whose `code` is the CK_RV number (pkcs11js index.js, Pkcs11Error).
import { BaseError } from '../../../protocols/errors.js'
import { PinIncorrectError, PinLockedError, Pkcs11Error, TokenNotFoundError } from '../../errors.js'

/** Return codes that mean the PIN was refused (PKCS#11 v2.40 §5.1, C_Login). */
const PIN_REFUSED = new Set(['CKR_PIN_INCORRECT', 'CKR_PIN_LEN_RANGE', 'CKR_PIN_INVALID'])
/** Return codes that mean the token is not there (PKCS#11 v2.40 §5.1, "Slot and token management"). */
const TOKEN_ABSENT = new Set(['CKR_SLOT_ID_INVALID', 'CKR_TOKEN_NOT_PRESENT', 'CKR_TOKEN_NOT_RECOGNIZED', 'CKR_DEVICE_REMOVED'])

export interface Pkcs11ReturnCode {
  rc: number
  rcName: string
}

/** The CK_RV of a pkcs11js error, or undefined for anything else. */
export function returnCodeOf(error: unknown): Pkcs11ReturnCode | undefined {
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown }
  if (typeof message !== 'string' || !/^CKR_\w+$/.test(message) || typeof code !== 'number') return undefined
  return { rc: code, rcName: message }
}

/**
 * The typed error for a failed PKCS#11 call. `token` names the configured token, for messages.
 * Errors that are already ours pass through; anything else without a CK_RV becomes a Pkcs11Error
 * with rc -1, keeping the original as its cause.
 */
export function toPkcs11Error(error: unknown, method: string, token: string): BaseError {
  if (error instanceof BaseError) return error
  const code = returnCodeOf(error)
  if (code === undefined) return new Pkcs11Error(method, -1, 'NATIVE_ERROR', { cause: error })
  const { rc, rcName } = code
  const options = { cause: error, details: { rc, rcName, method } }
  if (PIN_REFUSED.has(rcName)) return new PinIncorrectError(rc, rcName, options)
  if (rcName === 'CKR_PIN_LOCKED') return new PinLockedError(rc, rcName, options)
  if (TOKEN_ABSENT.has(rcName)) return new TokenNotFoundError(token, `${method} failed: ${rcName}`, options)
  return new Pkcs11Error(method, rc, rcName, { cause: error })
}
