// The stored form of one sample: a version byte, the time (float64, unix ms), the label (u16
// length, 0xffff for none, then UTF-8), the feature count (u32) and the features (float32), all
// little-endian.
import { InvalidArgumentError } from '../../protocols/errors.js'
import { DatasetCorruptError } from '../errors.js'
import { MAX_LABEL_BYTES, MAX_SAMPLE_FEATURES, SAMPLE_FORMAT_VERSION } from './constants.js'

export interface Sample {
  features: Float32Array
  label?: string
  /** Unix milliseconds. */
  time: number
}

const NO_LABEL = 0xffff
const HEADER = 1 + 8 + 2

/** Validates a sample at the boundary; `field` names it in errors. */
export function checkSample(sample: unknown, field: string): Sample {
  if (typeof sample !== 'object' || sample === null) throw new InvalidArgumentError(field, 'must be an object')
  const { features, label, time } = sample as Partial<Sample>
  if (!(features instanceof Float32Array) || features.length === 0 || features.length > MAX_SAMPLE_FEATURES)
    throw new InvalidArgumentError(`${field}.features`, `must be a Float32Array of 1..${MAX_SAMPLE_FEATURES} values`)
  for (let i = 0; i < features.length; i++)
    if (!Number.isFinite(features[i] as number)) throw new InvalidArgumentError(`${field}.features`, `value ${i} is not finite`)
  if (label !== undefined && (typeof label !== 'string' || label.length === 0 || new TextEncoder().encode(label).length > MAX_LABEL_BYTES))
    throw new InvalidArgumentError(`${field}.label`, `must be a string of 1..${MAX_LABEL_BYTES} UTF-8 bytes`)
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) throw new InvalidArgumentError(`${field}.time`, 'must be a finite number of unix ms')
  return label === undefined ? { features, time } : { features, label, time }
}

export function encodeSample(sample: Sample): Uint8Array {
  const label = sample.label === undefined ? undefined : new TextEncoder().encode(sample.label)
  const labelBytes = label?.length ?? 0
  const out = new Uint8Array(HEADER + labelBytes + 4 + 4 * sample.features.length)
  const view = new DataView(out.buffer)
  view.setUint8(0, SAMPLE_FORMAT_VERSION)
  view.setFloat64(1, sample.time, true)
  view.setUint16(9, label === undefined ? NO_LABEL : labelBytes, true)
  if (label !== undefined) out.set(label, HEADER)
  let at = HEADER + labelBytes
  view.setUint32(at, sample.features.length, true)
  at += 4
  for (const v of sample.features) {
    view.setFloat32(at, v, true)
    at += 4
  }
  return out
}

export function decodeSample(bytes: Uint8Array, key: string): Sample {
  const bad = (problem: string): DatasetCorruptError => new DatasetCorruptError(key, problem)
  if (bytes.length < HEADER + 4) throw bad('too short')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint8(0) !== SAMPLE_FORMAT_VERSION) throw bad(`unknown format version ${view.getUint8(0)}`)
  const time = view.getFloat64(1, true)
  const labelLength = view.getUint16(9, true)
  const labelBytes = labelLength === NO_LABEL ? 0 : labelLength
  if (labelBytes > MAX_LABEL_BYTES || bytes.length < HEADER + labelBytes + 4) throw bad('bad label length')
  const label = labelLength === NO_LABEL ? undefined : new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER, HEADER + labelBytes))
  let at = HEADER + labelBytes
  const count = view.getUint32(at, true)
  at += 4
  if (count === 0 || count > MAX_SAMPLE_FEATURES || bytes.length !== at + 4 * count) throw bad('bad feature count')
  const features = new Float32Array(count)
  for (let i = 0; i < count; i++) features[i] = view.getFloat32(at + 4 * i, true)
  return label === undefined ? { features, time } : { features, label, time }
}
