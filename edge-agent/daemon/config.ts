// The `agent` section of device.json: the daemon's own settings, every one optional with its
// default from constants.ts. Validated once, at start; a failure is a ConfigError naming the file
// and the field (`agent.training.epochs`). The schema is exported for the generated reference.
import { z } from 'zod'
import { inputScalingSchema } from '../../protocols/model/input-scaling.js'
import { multiaddrTextSchema } from '../../protocols/config/fleet-file.js'
import { parseConfig } from '../../protocols/config/parse-config.js'
import { UPDATE_ENCODINGS } from '../../protocols/tensors/update-encodings.js'
import { privacyPolicySchema } from '../../protocols/privacy/privacy-policy.js'
import {
  DEFAULT_ATTESTATIONS_PER_MINUTE,
  DEFAULT_DATA_DIR,
  DEFAULT_DATASET_BYTES,
  DEFAULT_LABEL_CHANNEL,
  DEFAULT_LISTEN,
  DEFAULT_OUTBOX_BYTES,
  DEFAULT_ROLLBACK_MARGIN,
  DEFAULT_STATUS_INTERVAL_MS,
  DEFAULT_TRAINING,
  DEFAULT_VALIDATION_FRACTION,
  DEFAULT_WINDOW_SIZE,
  MAX_ATTESTATIONS_PER_MINUTE,
  MAX_TRAINING_EPOCHS,
  MAX_TRAINING_THREADS,
  MAX_WINDOW_SIZE,
  LOG_LEVELS,
} from './constants.js'
import { DATASET_MAX_BYTES_LIMIT, MAX_LABEL_BYTES } from '../dataset/constants.js'
import { DEFAULT_CONSOLE_BAUD } from '../console/constants.js'

const MiB = 1024 * 1024
const MAX_OUTBOX_BYTES = 4096 * MiB

export { LOG_LEVELS }
export const AGENT_ENGINES = ['auto', 'onnxruntime-web', 'onnxruntime-node'] as const

export const agentTrainingSchema = z.strictObject({
  epochs: z.number().int().min(1).max(MAX_TRAINING_EPOCHS).default(DEFAULT_TRAINING.epochs).describe('local epochs per round, unless the round announces localEpochs'),
  batchSize: z.number().int().min(1).max(4096).default(DEFAULT_TRAINING.batchSize).describe('mini-batch size, unless the round announces localBatchSize'),
  learningRate: z.number().gt(0).max(10).default(DEFAULT_TRAINING.learningRate).describe('learning rate, unless the round announces localLr'),
  optimizer: z.enum(['sgd', 'adam']).default('sgd').describe('local optimiser'),
  minSamples: z.number().int().min(1).max(10_000_000).default(DEFAULT_TRAINING.minSamples).describe('training samples (after the validation split) below which a round is skipped'),
  threads: z.number().int().min(1).max(MAX_TRAINING_THREADS).default(DEFAULT_TRAINING.threads).describe('CPU threads of the training runtime'),
  minFreeMemoryBytes: z.number().int().min(0).default(DEFAULT_TRAINING.minFreeMemoryBytes).describe('available memory below which a round is skipped'),
  encoding: z.enum(UPDATE_ENCODINGS).default('float32').describe('how the weight delta is encoded (protocols/tensors)'),
})

export const agentCapsSchema = z.strictObject({
  datasetBytes: z.number().int().min(1024).max(DATASET_MAX_BYTES_LIMIT).default(DEFAULT_DATASET_BYTES).describe('bytes of samples kept; the oldest go first'),
  outboxBytes: z.number().int().min(1024).max(MAX_OUTBOX_BYTES).default(DEFAULT_OUTBOX_BYTES).describe('bytes of signed updates queued; when full a new one is refused, none is dropped'),
})

export const agentConfigSchema = z.strictObject({
  dataDir: z.string().min(1).max(4096).default(DEFAULT_DATA_DIR).describe("the daemon's state: dataset, outbox, model cache, status.json (relative to device.json)"),
  listen: z.array(multiaddrTextSchema).min(1).max(16).default([...DEFAULT_LISTEN]).describe('libp2p listen multiaddrs'),
  mdns: z.boolean().default(true).describe('find peers on the LAN with mDNS'),
  logLevel: z.enum(LOG_LEVELS).default('info').describe('pino level of the JSON lines on stdout (debug logs every inference)'),
  labelChannel: z.string().min(1).max(64).default(DEFAULT_LABEL_CHANNEL).describe('the sensor channel that is the label; the other channels are features. A sensor without it gives unlabelled samples'),
  windowSize: z.number().int().min(1).max(MAX_WINDOW_SIZE).default(DEFAULT_WINDOW_SIZE).describe('readings per model input'),
  windowHop: z.number().int().min(1).max(MAX_WINDOW_SIZE).optional().describe('readings between window starts (default windowSize)'),
  layout: z.enum(['channels-first', 'channels-last']).default('channels-first').describe('order of a window’s values: [channels, length] or [length, channels]'),
  inputScaling: inputScalingSchema.prefault({}).describe('input = (raw - baseline) / gain, applied to every feature (protocols/model/input-scaling.ts); the gateway scales its validation set the same way'),
  classes: z
    .array(z.string().min(1).max(MAX_LABEL_BYTES))
    .min(2)
    .max(4096)
    .refine((c) => new Set(c).size === c.length, 'class names must be unique')
    .optional()
    .describe("label of each model output, in order (default '0', '1', …)"),
  engine: z.enum(AGENT_ENGINES).default('auto').describe('inference and training runtime (auto: onnxruntime-node where it loads)'),
  inferenceThreads: z.number().int().min(1).max(64).default(1).describe('CPU threads of the inference runtime'),
  training: agentTrainingSchema.prefault({}).describe('local training of each round; a round may announce its own values'),
  caps: agentCapsSchema.prefault({}).describe('limits of what the agent keeps on disk'),
  attestations: z
    .strictObject({
      perMinute: z.number().min(0).max(MAX_ATTESTATIONS_PER_MINUTE).default(DEFAULT_ATTESTATIONS_PER_MINUTE).describe('signed InferenceAttestations published on the events topic per minute'),
    })
    .prefault({})
    .describe('signed records of inference, which let anyone check the device is in service'),
  rollbackMargin: z.number().min(0).max(1).default(DEFAULT_ROLLBACK_MARGIN).describe('a settled model scoring this much worse than the current one on the device’s validation split is refused'),
  validationFraction: z.number().min(0).lt(1).default(DEFAULT_VALIDATION_FRACTION).describe('share of labelled samples held out for validation'),
  console: z
    .strictObject({
      enabled: z.boolean().default(true).describe('serve the technician console on this port'),
      path: z.string().min(1).max(4096).describe('serial port of the console: /dev/ttyS0 (UART), /dev/ttyGS0 (USB gadget), /dev/ttyUSB0'),
      baudRate: z.number().int().min(50).max(4_000_000).default(DEFAULT_CONSOLE_BAUD).describe('baud rate of the console port'),
    })
    .optional()
    .describe('the field technician’s serial console (edge-agent/console); absent: none'),
  privacy: privacyPolicySchema
    .optional()
    .describe('the data owner’s differential-privacy policy: rounds that announce no DP, too little noise, or would take ε past maxEpsilon are refused (recorded with the reason); absent: the device follows each round’s announced DP with no limit'),
  statusIntervalMs: z.number().int().min(100).max(600_000).default(DEFAULT_STATUS_INTERVAL_MS).describe('status.json is rewritten at least this often'),
})

export type AgentConfigInput = z.input<typeof agentConfigSchema>
export type AgentConfig = z.output<typeof agentConfigSchema>

/** Validates device.json's `agent` section (absent: every default). Errors name `agent.<field>`. */
export function parseAgentConfig(value: unknown, file = 'device.json'): AgentConfig {
  return parseConfig(file, agentConfigSchema, value ?? {}, 'agent')
}
