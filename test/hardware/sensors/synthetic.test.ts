// The synthetic driver: deterministic from its seed, with injected anomalies whose ground-truth
// labels match what was done to the signal.

import t from 'tap'
import { SensorConfigError } from '../../../hardware/errors.js'
import { SyntheticSensor, generateSynthetic, type Reading, type SyntheticConfig } from '../../../hardware/sensors/index.js'
import { waitForEvent } from './helpers.js'

const base: SyntheticConfig = {
  driver: 'synthetic',
  id: 'syn',
  rate: 100,
  speed: 'max',
  seed: 42,
  length: 3000,
  channels: [
    { name: 'x', unit: 'g', offset: 1, noise: 0.2, sinusoids: [{ frequency: 3, amplitude: 2 }, { frequency: 7, amplitude: 0.5, phase: 1 }] },
    { name: 'y', unit: 'g' },
  ],
  anomalies: { probability: 0.01, kinds: ['spike', 'shift', 'stuck', 'noise'], minLength: 2, maxLength: 6, magnitude: 10 },
}

async function readAll(config: SyntheticConfig): Promise<{ readings: Reading[]; sensor: SyntheticSensor }> {
  const sensor = new SyntheticSensor(config)
  await sensor.open()
  const readings: Reading[] = []
  sensor.on('data', (r) => readings.push(r))
  await waitForEvent(sensor, 'end', 10_000)
  await sensor.close()
  return { readings, sensor }
}

t.test('the same seed gives the same readings and labels; another seed does not', async (t) => {
  const a = await readAll(base)
  const b = await readAll({ ...base, id: 'again' })
  const truth = generateSynthetic(base, 3000)
  t.equal(a.readings.length, 3000, '`length` readings, then it ends')
  t.equal(a.sensor.status, 'closed')
  // Counted rather than t.same'd: tap's deep diff of 6000 numbers takes seconds.
  const differences = (x: readonly Float32Array[], y: readonly Float32Array[]): number =>
    x.reduce((n, v, i) => n + v.reduce((m, value, c) => m + (Object.is(value, y[i]?.[c]) ? 0 : 1), 0), 0)
  const aValues = a.readings.map((r) => r.values)
  t.equal(differences(aValues, b.readings.map((r) => r.values)), 0, 'two runs agree bit for bit')
  t.equal(differences(aValues, truth.values), 0, 'and agree with generateSynthetic()')
  t.equal(a.readings.filter((r, i) => r.label !== truth.labels[i]).length, 0, 'labels agree too')
  const other = generateSynthetic({ ...base, seed: 43 }, 3000)
  t.ok(differences(aValues, other.values) > 2900, 'a different seed, a different signal')
  const kinds = new Set(truth.labels)
  const allowed = new Set(['normal', 'spike', 'shift', 'stuck', 'noise'])
  t.ok([...kinds].every((k) => allowed.has(k)), 'labels are normal or a configured kind')
  t.ok(kinds.size >= 4, `several kinds occur (${[...kinds].join(', ')})`)
  t.equal(a.sensor.stats.anomalous, truth.labels.filter((l) => l !== 'normal').length, 'stats count the anomalous readings')
})

t.test('labels are the ground truth of what was done to the signal', async (t) => {
  // Without noise the clean signal is known exactly, so each label can be checked against it.
  const config: SyntheticConfig = {
    ...base,
    length: 5000,
    channels: [{ name: 'x', sinusoids: [{ frequency: 2, amplitude: 1 }] }],
    anomalies: { probability: 0.02, kinds: ['spike', 'shift', 'stuck'], minLength: 1, maxLength: 4, magnitude: 5 },
  }
  const { values, labels } = generateSynthetic(config, 5000)
  const clean = (i: number): number => Math.fround(Math.sin((2 * Math.PI * 2 * i) / config.rate))
  let wrong = 0
  let anomalies = 0
  values.forEach((v, i) => {
    const x = v[0] as number
    const label = labels[i]
    if (label === 'normal') {
      if (Math.abs(x - clean(i)) > 1e-6) wrong++ // the same sine, up to rounding of the phase
    } else {
      anomalies++
      if (label === 'spike' || label === 'shift') {
        if (Math.abs(Math.abs(x - clean(i)) - 5) > 1e-5) wrong++
      } else if (label === 'stuck') {
        if (i === 0 || x !== values[i - 1]?.[0]) wrong++
      }
    }
  })
  t.ok(anomalies > 50, `anomalies were injected (${anomalies} readings)`)
  t.equal(wrong, 0, "normal readings are the clean signal; spikes and shifts are off by the magnitude; 'stuck' holds the last value")
})

t.test('config errors name the field', async (t) => {
  const cases: [string, Partial<SyntheticConfig>, string][] = [
    ['above Nyquist', { rate: 10, channels: [{ name: 'x', sinusoids: [{ frequency: 5, amplitude: 1 }] }] }, 'channels.0.sinusoids.0.frequency'],
    ['negative seed', { seed: -1 }, 'seed'],
    ['fractional seed', { seed: 1.5 }, 'seed'],
    ['anomaly lengths', { anomalies: { probability: 0.1, kinds: ['spike'], minLength: 5, maxLength: 2, magnitude: 1 } }, 'anomalies.maxLength'],
    ['anomaly kind', { anomalies: { probability: 0.1, kinds: ['meteor' as 'spike'], magnitude: 1 } }, 'anomalies.kinds.0'],
    ['probability', { anomalies: { probability: 0.9, kinds: ['spike'], magnitude: 1 } }, 'anomalies.probability'],
    ['no channels', { channels: [] }, 'channels'],
    ['noise', { channels: [{ name: 'x', noise: -1 }] }, 'channels.0.noise'],
  ]
  for (const [what, change, field] of cases) {
    const err = t.throws(() => new SyntheticSensor({ ...base, ...change }), SensorConfigError, what) as SensorConfigError
    t.equal(err.details.field, field, `${what}: names ${field}`)
  }
})
