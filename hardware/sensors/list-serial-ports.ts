// Lists serial ports without ever failing the caller. serialport's `SerialPort.list()` runs
// `udevadm` on Linux; containers and minimal images have no udev, and the list then rejects
// (spawn udevadm ENOENT). That is no reason to crash a device: the answer is an empty list and a
// warning, and a sensor can still be opened by its path.

import type { Logger } from 'pino'
import type { SerialPort } from 'serialport'
import { abortable } from './abstract-sensor.js'
import { LIST_TIMEOUT_MS } from './constants.js'

/** What serialport reports of a port: path, manufacturer, serial number, USB vendor and product ids. */
export type SerialPortInfo = Awaited<ReturnType<typeof SerialPort.list>>[number]

export interface ListSerialPortsParameters {
  readonly logger: Logger
  readonly signal?: AbortSignal
  /** The lister; defaults to serialport's `SerialPort.list` (tests pass a mock binding's). */
  readonly list?: () => Promise<SerialPortInfo[]>
}

export async function listSerialPorts(params: ListSerialPortsParameters): Promise<SerialPortInfo[]> {
  const logger = params.logger.child({ component: 'hardware:sensors:ports' })
  const signal = params.signal ?? AbortSignal.timeout(LIST_TIMEOUT_MS)
  try {
    const list = params.list ?? (await import('serialport')).SerialPort.list
    const ports = await abortable(list(), signal)
    return ports.map((p) => ({ ...p }))
  } catch (error) {
    logger.warn({ err: error }, 'cannot list serial ports (is udev available?); returning none, open sensors by path')
    return []
  }
}
