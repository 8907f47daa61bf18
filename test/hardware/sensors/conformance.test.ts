// The sensor conformance suite, run against every driver: replay and synthetic in-process,
// serial-line and firmata over real socat pseudo-terminals with the device emulators.

import {
  FirmataSensor,
  ReplaySensor,
  SerialLineSensor,
  SyntheticSensor,
} from '../../../hardware/sensors/index.js'
import { startFirmataEmulator } from '../../fixtures/serial/firmata-emulator.js'
import { startLineEmulator } from '../../fixtures/serial/line-emulator.js'
import { createPtyPair } from '../../fixtures/serial/pty-pair.js'
import { sensorConformance } from './conformance.js'
import { ECG_FILE, ECG_RATE } from './helpers.js'

sensorConformance('replay', async () => ({
  sensor: new ReplaySensor({
    driver: 'replay',
    id: 'ecg-replay',
    file: ECG_FILE,
    rate: ECG_RATE,
    speed: 10,
    loop: true,
    channels: [{ column: 'adc', name: 'mlii', unit: 'mV', baseline: 1024, gain: 200 }],
  }),
  teardown: async () => undefined,
}))

sensorConformance('synthetic', async () => ({
  sensor: new SyntheticSensor({
    driver: 'synthetic',
    id: 'synthetic',
    rate: 500,
    seed: 7,
    channels: [
      { name: 'x', unit: 'g', sinusoids: [{ frequency: 5, amplitude: 1 }], noise: 0.05 },
      { name: 'temp', unit: '°C', offset: 21 },
    ],
    anomalies: { probability: 0.01, kinds: ['spike', 'stuck'], magnitude: 4, maxLength: 5 },
  }),
  teardown: async () => undefined,
}))

sensorConformance('serial-line', async () => {
  const pair = await createPtyPair()
  const sensor = new SerialLineSensor({
    driver: 'serial-line',
    id: 'serial',
    path: pair.a,
    rate: 500,
    format: { kind: 'csv', channels: [{ name: 'i' }, { name: 'v', unit: 'V' }] },
  })
  // The emulator writes forever; the driver reads whenever it is open.
  const emulator = await startLineEmulator({ path: pair.b, rate: 500, line: (i) => `${i},${(i % 7) * 0.5}` })
  return {
    sensor,
    teardown: async () => {
      await emulator.stop()
      await pair.dispose()
    },
  }
})

sensorConformance('firmata', async () => {
  const pair = await createPtyPair()
  const emulator = await startFirmataEmulator({ path: pair.b, analog: [512, 51, 0, 1023] })
  const sensor = new FirmataSensor({
    driver: 'firmata',
    id: 'uno',
    path: pair.a,
    rate: 100,
    samplingIntervalMs: 10,
    reportVersionTimeoutMs: 50,
    analog: [{ pin: 'A0', name: 'a0' }],
    thermometers: [{ pin: 'A1', name: 'temp', controller: 'LM35' }],
  })
  return {
    sensor,
    teardown: async () => {
      await emulator.stop()
      await pair.dispose()
    },
  }
})
