// `cw decode <type> [file]`: decodes one wire message strictly and prints it as JSON, optionally
// checking its signature against a fleet's EIP-712 domain.
// This is the implementation, loaded when the command runs; cli/commands/decode.ts defines its options.
import { readFile } from 'node:fs/promises'
import type { Address } from 'viem'
import {
  contentId,
  decodeSigned,
  decodeSubmission,
  decodeUpdate,
  fleetDomain,
  hashMessage,
  verifyMessage,
  type MessageKind,
  type Signed,
} from '../../protocols/index.js'
import { EXIT, toJson } from '../output.js'
import { UsageError } from '../usage-error.js'
import { DECODE_TYPES } from '../commands/decode.js'

type DecodeType = (typeof DECODE_TYPES)[number]

export interface DecodeOptions {
  hex?: boolean
  chainId?: string
  registry?: Address
  owner?: Address
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Input bytes: the raw file, or its text as hex when --hex is given (whitespace ignored). */
async function readInput(file: string | undefined, hex: boolean): Promise<Uint8Array> {
  const raw = file === undefined || file === '-' ? await readStdin() : await readFile(file)
  if (!hex) return raw
  const text = Buffer.from(raw).toString('utf8').replace(/\s+/g, '').replace(/^0x/, '')
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new UsageError('--hex input is not an even number of hex digits')
  return Buffer.from(text, 'hex')
}

function checkSignature(kind: MessageKind, signed: Signed<MessageKind>, options: DecodeOptions) {
  if (options.chainId === undefined && options.registry === undefined) return undefined
  if (options.chainId === undefined || options.registry === undefined)
    throw new UsageError('checking a signature needs both --chain-id and --registry')
  if (kind === 'DeviceCertificate' && options.owner === undefined) throw new UsageError('checking a DeviceCertificate needs --owner')
  const domain = fleetDomain({ chainId: Number(options.chainId), verifyingContract: options.registry })
  const valid = verifyMessage(kind, {
    domain,
    message: signed.message,
    signature: signed.signature,
    ...(options.owner === undefined ? {} : { signer: options.owner }),
  })
  return { digest: hashMessage(kind, domain, signed.message), valid }
}

export async function decodeCommand(type: string, file: string | undefined, options: DecodeOptions): Promise<void> {
  if (!(DECODE_TYPES as readonly string[]).includes(type))
    throw new UsageError(`unknown type ${JSON.stringify(type)}; expected one of ${DECODE_TYPES.join(', ')}`)
  const bytes = await readInput(file, options.hex === true)
  const decodeType = type as DecodeType
  let result: Record<string, unknown>
  if (decodeType === 'ModelUpdate') {
    const update = decodeUpdate(bytes)
    result = {
      contentId: contentId(bytes),
      encoding: update.encoding,
      tensors: update.tensors.map((t) => ({ name: t.name, shape: t.shape, elements: t.data.length })),
    }
  } else if (decodeType === 'UpdateSubmission') {
    const submission = decodeSubmission(bytes)
    result = { ...submission, update: { bytes: submission.update.length, contentId: contentId(submission.update) } }
  } else {
    const signed = decodeSigned(decodeType, bytes)
    const check = checkSignature(decodeType, signed, options)
    if (check?.valid === false) process.exitCode = EXIT.rejected
    result = { ...signed, ...check }
  }
  console.log(toJson({ type, bytes: bytes.length, ...result }))
}
