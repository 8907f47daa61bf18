// Types for the parts of firmata-io 2.3 (no published types) that the firmata driver uses.
// firmata-io's module.exports is a function binding a default transport class, with the Firmata
// class attached as `.Firmata`; passing an object as `port` uses it as the transport directly.

declare module 'firmata-io' {
  import type { EventEmitter } from 'node:events'

  /** What firmata-io needs of a transport: `write`, and `open`/`data`/`close`/`error` events. */
  export interface FirmataTransport extends EventEmitter {
    write(data: Buffer, callback?: (error?: Error | null) => void): unknown
  }

  export interface FirmataOptions {
    /** ms to wait for the board's own REPORT_VERSION before asking for it (default 5000). */
    reportVersionTimeout?: number
    /** Analog sampling interval in ms, sent once the board is ready. */
    samplingInterval?: number
    skipCapabilities?: boolean
  }

  export interface FirmataPin {
    supportedModes: number[]
    analogChannel: number
    mode?: number
    value?: number
    report?: number
  }

  export class Firmata extends EventEmitter {
    constructor(port: FirmataTransport, options?: FirmataOptions, callback?: (error?: Error) => void)
    isReady: boolean
    versionReceived: boolean
    /** Bytes of the message being parsed. */
    buffer: number[]
    /** Pin numbers of the analog channels, indexed by channel. */
    analogPins: number[]
    pins: FirmataPin[]
    MODES: { readonly INPUT: number; readonly OUTPUT: number; readonly ANALOG: number; readonly [mode: string]: number }
    RESOLUTION: { ADC: number | null; DAC: number | null; PWM: number | null }
    version: { major?: number; minor?: number }
    firmware: { name?: string; version?: { major: number; minor: number } }
    transport: FirmataTransport
    reportVersionTimeoutId?: NodeJS.Timeout
    queryFirmware(callback: () => void): void
    reportVersion(callback: () => void): void
    analogRead(channel: number, callback: (value: number) => void): void
    reportAnalogPin(channel: number, value: 0 | 1): void
    pinMode(pin: number, mode: number): void
    setSamplingInterval(interval: number): void
  }

  interface BindTransport {
    (transport: unknown): typeof Firmata
    Firmata: typeof Firmata
  }
  const bindTransport: BindTransport
  export default bindTransport
}
