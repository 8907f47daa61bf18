// Malformed serial input is visible to a technician: the agent's sensor states (status.json,
// `cw agent status`) count it by kind, and the log says when it grows. A real socat PTY pair and
// the serial-line driver; the device side writes good lines, wrong field counts, bad checksums
// and non-ASCII garbage.
import t from 'tap'
import { SensorPipeline } from '../../../edge-agent/daemon/sensor-pipeline.js'
import { IDENTITY_INPUT_SCALING } from '../../../protocols/index.js'
import { startLineEmulator } from '../../fixtures/serial/line-emulator.js'
import { createPtyPair } from '../../fixtures/serial/pty-pair.js'
import { captureLogger, until } from '../../hardware/sensors/helpers.js'

t.setTimeout(120_000)

t.test('wrongFieldCount and garbage are counted in the sensor state and logged', async (t) => {
  const pair = await createPtyPair()
  t.teardown(() => pair.dispose())
  const { logger, entries } = captureLogger()
  const pipeline = new SensorPipeline({
    sensors: [{ driver: 'serial-line', id: 'uart', path: pair.a, rate: 50, format: { kind: 'csv', channels: [{ name: 'x' }, { name: 'label' }] } }],
    baseDir: '.',
    labelChannel: 'label',
    windowSize: 4,
    layout: 'channels-last',
    inputScaling: IDENTITY_INPUT_SCALING,
    logger,
    onSample: () => undefined,
  })
  t.teardown(() => pipeline.stop())
  pipeline.start()
  const emulator = await startLineEmulator({ path: pair.b, rate: 100, line: (i) => (i % 5 === 1 ? `${i},1,9` : `${i},1`) })
  t.teardown(() => emulator.stop())
  await emulator.write(new Uint8Array([0x01, 0xff, 0xfe, 0x0d, 0x0a]))
  await until(() => {
    const m = pipeline.states()[0]?.malformed ?? {}
    return (m.wrongFieldCount ?? 0) >= 2 && (m.garbage ?? 0) >= 1
  }, 20_000, 'malformed counts')
  const [state] = pipeline.states()
  t.match(state, { id: 'uart', driver: 'serial-line', malformed: { wrongFieldCount: Number, garbage: Number } })
  t.notOk('nonNumeric' in (state?.malformed ?? {}), 'only kinds seen are listed')
  const warned = entries.filter((e) => e.msg === 'malformed input dropped')
  t.ok(warned.length >= 1, 'logged')
  t.match(warned[0], { sensor: 'uart', malformed: Object })
  const before = warned.length
  pipeline.states()
  t.ok(entries.filter((e) => e.msg === 'malformed input dropped').length <= before + 1, 'logged when it grows, not on every read')
})

t.test('a bad sensor configuration names the file, the sensor and the field', async (t) => {
  const { logger } = captureLogger()
  const make = (sensors: Record<string, unknown>[]): SensorPipeline =>
    new SensorPipeline({ sensors, baseDir: '.', file: '/etc/cw/device.json', labelChannel: 'label', windowSize: 4, layout: 'channels-last', inputScaling: IDENTITY_INPUT_SCALING, logger, onSample: () => undefined })
  const good = { driver: 'serial-line', id: 'uart', path: '/dev/null', rate: 50, format: { kind: 'csv', channels: [{ name: 'x' }, { name: 'label' }] } }
  t.throws(() => make([good, { ...good, id: 'digits-uart', format: { kind: 'csv', channels: 'x' } }]), {
    code: 'CW_CONFIG',
    message: /^\/etc\/cw\/device\.json: sensors\[1\] \(digits-uart\): format\.channels: /,
    details: { file: '/etc/cw/device.json', field: 'sensors[1] (digits-uart)' },
  })
  t.throws(() => make([{ driver: 'no-such', id: 'x' }]), { code: 'CW_CONFIG', message: /device\.json: sensors\[0\] \(x\): driver: must be one of/ })
})
