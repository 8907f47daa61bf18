// Listing serial ports never fails the caller: without udev (this machine, most containers)
// serialport's list rejects, and the answer is an empty list with a warning.

import { existsSync } from 'node:fs'
import t from 'tap'
import { SerialPortMock } from 'serialport'
import { listSerialPorts } from '../../../hardware/sensors/index.js'
import { WARN, captureLogger } from './helpers.js'

const hasUdevadm = ['/usr/bin/udevadm', '/bin/udevadm', '/sbin/udevadm', '/usr/sbin/udevadm'].some((p) => existsSync(p))

t.test('the real SerialPort.list()', async (t) => {
  const { logger, entries } = captureLogger()
  const ports = await listSerialPorts({ logger })
  t.ok(Array.isArray(ports), 'always an array')
  if (hasUdevadm) {
    t.pass('udev is present here: the list is whatever it reports')
  } else {
    t.same(ports, [], 'no udev: an empty list')
    t.ok(
      entries.some((e) => e.level === WARN && e.component === 'hardware:sensors:ports' && /udev/.test(e.msg)),
      'and a warning through the injected logger',
    )
  }
})

t.test('a lister that fails or hangs gives an empty list and a warning', async (t) => {
  const { logger, entries } = captureLogger()
  const failing = async (): Promise<never> => {
    throw Object.assign(new Error('spawn udevadm ENOENT'), { code: 'ENOENT' })
  }
  t.same(await listSerialPorts({ logger, list: failing }), [])
  t.equal(entries.filter((e) => e.level === WARN).length, 1, 'one warning')
  const hanging = (): Promise<never> => new Promise(() => undefined)
  // A real udevadm child keeps the event loop alive while it hangs; so does this timer.
  const alive = setTimeout(() => undefined, 5_000)
  t.same(await listSerialPorts({ logger, list: hanging, signal: AbortSignal.timeout(50) }), [], 'a hanging udevadm is given up')
  clearTimeout(alive)
  t.equal(entries.filter((e) => e.level === WARN).length, 2)
})

t.test('beside the real one: a mock binding lists its ports', async (t) => {
  // @serialport/binding-mock only here, to check the happy path that udev cannot show on this machine.
  const binding = SerialPortMock.binding
  binding.reset()
  binding.createPort('/dev/ttyACM7', { manufacturer: 'Arduino (www.arduino.cc)', vendorId: '2341', productId: '0043' })
  t.teardown(() => binding.reset())
  const { logger, entries } = captureLogger()
  const ports = await listSerialPorts({ logger, list: () => binding.list() })
  t.match(ports, [{ path: '/dev/ttyACM7', manufacturer: 'Arduino (www.arduino.cc)', vendorId: '2341', productId: '0043' }])
  t.equal(entries.filter((e) => e.level === WARN).length, 0, 'no warning')
})
