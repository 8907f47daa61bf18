// gateway.json: what `cw gateway start` runs. Validated once, here; a ConfigError names the file
// and the field. Relative paths are resolved against the directory of the file itself, so a
// configuration means the same whatever directory the daemon is started from. The schema is
// exported so that the README's configuration reference is generated from it.
import { dirname, isAbsolute, resolve } from 'node:path'
import { z } from 'zod'
import { MEAN_STRATEGIES, multiaddrTextSchema, parseConfig, PrivacyStrategyError, strategyFor } from '../../protocols/index.js'
import { keyStoreConfigSchema, readJsonConfig, type KeyStoreConfig } from '../../hardware/index.js'
import { roundConfigSchema, type RoundConfig } from '../rounds/index.js'
import {
  DEFAULT_API_HOST,
  DEFAULT_DATA_DIR,
  DEFAULT_EVALUATION_MARGIN,
  DEFAULT_FLEET_FILE,
  DEFAULT_KEY_LABEL,
  DEFAULT_LISTEN,
  DEFAULT_REANNOUNCE_SECONDS,
  DEFAULT_REWARD_TOTAL,
  DEFAULT_VERIFICATION,
  GATEWAY_CONFIG_VERSION,
  LOOPBACK_HOSTS,
} from './constants.js'

const MAX_LISTEN = 16
const MAX_LAYER_WIDTH = 1 << 16
/** RoundLedger stores the reward total as a uint192. */
const MAX_REWARD_TOTAL = 2n ** 192n - 1n

/** A loopback address: what the API may bind without TLS or an explicit flag. */
export function isLoopbackHost(host: string): boolean {
  return (LOOPBACK_HOSTS as readonly string[]).includes(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

const path = (what: string) => z.string().min(1, `expected ${what}`).max(4096)

export const mlpModelSchema = z
  .strictObject({
    inputs: z.number().int().min(1).max(MAX_LAYER_WIDTH).describe('features per sample'),
    hidden: z.array(z.number().int().min(1).max(MAX_LAYER_WIDTH)).max(16).default([32]).describe('widths of the hidden layers'),
    outputs: z.number().int().min(2).max(MAX_LAYER_WIDTH).describe('classes'),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1).describe('seed of the weight initialisation'),
  })
  .describe('the reference MLP (protocols/model), built deterministically from these numbers')

export const initialModelSchema = z
  .strictObject({
    mlp: mlpModelSchema.optional(),
    file: path('the path of an ONNX model').optional().describe('an ONNX model file'),
  })
  .superRefine((m, ctx) => {
    if ((m.mlp === undefined) === (m.file === undefined)) ctx.addIssue({ code: 'custom', message: 'expected exactly one of mlp or file' })
  })
  .describe('the model of round 0, settled on chain at first start (genesis)')

export const validationSchema = z
  .strictObject({
    csv: path('the path of a CSV file').describe('validation samples, one per row, with a header line; may be gzip-compressed'),
    labelColumn: z.union([z.string().min(1).max(256), z.number().int().min(0)]).default('label').describe('the label column, by header name or 0-based index; every other column is a feature, in order'),
    engine: z.enum(['auto', 'onnxruntime-web', 'onnxruntime-node']).default('auto').describe('the inference engine that evaluates models'),
  })
  .describe('the gateway validation set: each new model is evaluated on it (accuracy)')

export const scheduleSchema = z
  .discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('manual') }).describe('rounds start on `cw gateway round start` (POST /rounds)'),
    z
      .strictObject({
        mode: z.literal('interval'),
        intervalSeconds: z.number().int().min(1).max(30 * 24 * 3600).describe('seconds from one round finishing to the next starting'),
        maxRounds: z.number().int().min(1).optional().describe('no round numbered above this is started; absent: no limit'),
      })
      .describe('rounds start on their own'),
  ])
  .default({ mode: 'manual' })
  .describe('when rounds start: `manual` or `interval`')

export const verificationSchema = z
  .strictObject({
    maxNorm: z.number().positive().default(DEFAULT_VERIFICATION.maxNorm).describe('largest L2 norm of an update'),
    minSamples: z.number().int().min(0).default(DEFAULT_VERIFICATION.minSamples).describe('fewest samples an update may claim'),
    maxSamples: z
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .default(DEFAULT_VERIFICATION.maxSamples)
      .describe("most samples any device may claim; a certificate's max-samples:<n> capability bounds that device further"),
    maxAgeSeconds: z.number().int().min(1).default(DEFAULT_VERIFICATION.maxAgeSeconds).describe('how old an attestation may be'),
    maxSkewSeconds: z.number().int().min(0).default(DEFAULT_VERIFICATION.maxSkewSeconds).describe('how far ahead of the gateway clock an attestation may be'),
  })
  .refine((v) => v.minSamples <= v.maxSamples, { message: 'minSamples must not exceed maxSamples', path: ['minSamples'] })
  .default({ ...DEFAULT_VERIFICATION })
  .describe('limits of update verification (gateway/verify)')

export const roundsSchema = z.strictObject({
  config: roundConfigSchema.describe('per-round settings: selection, durationSeconds, quorum, strategy { name, params }'),
  rewardTotal: z
    .string()
    .regex(/^\d{1,58}$/, 'expected a decimal integer')
    .refine((v) => BigInt(v) <= MAX_REWARD_TOTAL, 'must fit in a uint192')
    .default(DEFAULT_REWARD_TOTAL)
    .describe('reward tokens split among each round’s contributions (decimal string)'),
  evaluationMargin: z.number().min(0).max(1).default(DEFAULT_EVALUATION_MARGIN).describe('how much lower a new model may score than its parent before the parent is kept'),
  reannounceSeconds: z.number().int().min(0).max(3600).default(DEFAULT_REANNOUNCE_SECONDS).describe('re-publish a collecting round’s announcement, and between rounds the current model’s, this often, for late joiners (0: never)'),
  schedule: scheduleSchema,
  verification: verificationSchema,
})

export const gatewayConfigSchema = z
  .strictObject({
    version: z.literal(GATEWAY_CONFIG_VERSION).describe('format version of this file'),
    fleetFile: path('the path of fleet.json').default(DEFAULT_FLEET_FILE).describe('the fleet file (cw fleet init)'),
    dataDir: path('a directory').default(DEFAULT_DATA_DIR).describe('state: rounds (level), settlement journal, transport key, published blobs, api.json'),
    keyStore: keyStoreConfigSchema.describe('where the gateway key lives (file or pkcs11)'),
    keyLabel: z.string().min(1).max(64).default(DEFAULT_KEY_LABEL).describe('the gateway key’s label in the key store'),
    listen: z.array(multiaddrTextSchema).min(1).max(MAX_LISTEN).default([...DEFAULT_LISTEN]).describe('libp2p listen multiaddrs'),
    mdns: z.boolean().default(false).describe('announce the gateway on the LAN by mDNS'),
    api: z
      .strictObject({
        host: z
          .string()
          .min(1)
          .max(253)
          .default(DEFAULT_API_HOST)
          .describe(`the address the API and dashboard bind; other than ${LOOPBACK_HOSTS.join(', ')} only with tls or allowInsecureRemote (the API's own routes have no authentication)`),
        port: z.number().int().min(0).max(65_535).default(0).describe('0: a free port (written to api.json)'),
        tls: z
          .strictObject({ cert: path('the path of a PEM certificate').describe('PEM certificate (chain); relative to gateway.json'), key: path('the path of a PEM private key').describe('PEM private key; relative to gateway.json') })
          .optional()
          .describe('serve HTTPS with this certificate (chain) and key'),
        allowInsecureRemote: z.boolean().default(false).describe('bind a non-loopback host without TLS (e.g. behind a proxy that terminates TLS); a warning at start-up says so'),
      })
      .superRefine((a, ctx) => {
        if (!isLoopbackHost(a.host) && a.tls === undefined && !a.allowInsecureRemote)
          ctx.addIssue({ code: 'custom', path: ['host'], message: `${a.host} is not loopback: set api.tls, or api.allowInsecureRemote to bind it without TLS` })
      })
      .default({ host: DEFAULT_API_HOST, port: 0, allowInsecureRemote: false })
      .describe('the HTTP API (and dashboard) that `cw gateway` commands talk to'),
    model: z.strictObject({ initial: initialModelSchema }).describe('the model of round 0 (the genesis document)'),
    validation: validationSchema.optional(),
    rounds: roundsSchema.describe('how rounds run and are rewarded'),
    limits: z
      .strictObject({
        maxConnections: z.number().int().min(1).max(100_000).optional().describe('libp2p connections at once (default: libp2p\'s)'),
        inboundConnectionThreshold: z.number().int().min(1).max(100_000).optional().describe('new connections per second accepted from one host'),
        maxUnverifiedUpdateStreams: z.number().int().min(1).max(100_000).optional().describe('update streams whose peer is not verified yet, across all peers (default 64); the oldest silent one is evicted for a newcomer'),
        maxKnownPeerUpdateStreams: z.number().int().min(1).max(100_000).optional().describe('unverified update streams of peers verified on an earlier stream, which unknown peers cannot evict (default 64)'),
        maxVerifiedUpdateStreams: z.number().int().min(1).max(100_000).optional().describe('update streams of verified peers being read or handled at once (default 64)'),
        maxUpdateBufferedBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().describe('bytes reserved for updates being read or handled, across all peers (default 128 MiB)'),
        updateHeaderTimeoutMs: z.number().int().min(1).max(600_000).optional().describe('time an update stream has to deliver its attestation and certificate (default 10 s)'),
      })
      .optional()
      .describe('mesh connection and update stream limits (protocols/mesh/constants.ts)'),
  })
  .superRefine((c, ctx) => {
    const { name, params } = c.rounds.config.strategy
    try {
      strategyFor(name, params)
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['rounds', 'config', 'strategy'], message: err instanceof Error ? err.message : String(err) })
    }
    const privacy = c.rounds.config.privacy
    if (privacy?.mode === 'central' && !MEAN_STRATEGIES.includes(name))
      ctx.addIssue({ code: 'custom', path: ['rounds', 'config', 'privacy', 'mode'], message: new PrivacyStrategyError(name, 'central DP', `only a mean can be noised (${MEAN_STRATEGIES.join(', ')}); clip on the devices instead`).message })
  })

export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>
type Parsed = z.output<typeof gatewayConfigSchema>

/** A validated gateway.json, every path absolute. */
export type GatewayConfig = Omit<Parsed, 'keyStore' | 'rounds'> & {
  keyStore: KeyStoreConfig
  rounds: Omit<Parsed['rounds'], 'config'> & { config: RoundConfig }
  /** The file it was read from (absolute), for messages. */
  file: string
}

function resolveKeyStore(keyStore: KeyStoreConfig, at: (p: string) => string): KeyStoreConfig {
  const secret = <S extends { env: string } | { file: string }>(s: S): S => ('file' in s ? { ...s, file: at(s.file) } : s)
  if (keyStore.kind === 'file') return { ...keyStore, directory: at(keyStore.directory), password: secret(keyStore.password) }
  // A module named without a directory is left to the dynamic loader's search path.
  return { ...keyStore, module: keyStore.module.includes('/') ? at(keyStore.module) : keyStore.module, pin: secret(keyStore.pin) }
}

/** Validates a parsed gateway.json; relative paths are taken from `file`'s directory. */
export function parseGatewayConfig(value: unknown, file = 'gateway.json'): GatewayConfig {
  const parsed = parseConfig(file, gatewayConfigSchema, value)
  const base = dirname(resolve(file))
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(base, p))
  const initial = parsed.model.initial
  return {
    ...parsed,
    file: resolve(file),
    fleetFile: at(parsed.fleetFile),
    dataDir: at(parsed.dataDir),
    ...(parsed.api.tls === undefined ? {} : { api: { ...parsed.api, tls: { cert: at(parsed.api.tls.cert), key: at(parsed.api.tls.key) } } }),
    keyStore: resolveKeyStore(parsed.keyStore, at),
    model: { initial: initial.file === undefined ? initial : { ...initial, file: at(initial.file) } },
    ...(parsed.validation === undefined ? {} : { validation: { ...parsed.validation, csv: at(parsed.validation.csv) } }),
  } as GatewayConfig
}

export async function readGatewayConfig(file: string): Promise<GatewayConfig> {
  return readJsonConfig(file, parseGatewayConfig)
}
