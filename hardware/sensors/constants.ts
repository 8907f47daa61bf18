// Defaults, caps and time-outs of the sensor drivers. Every literal a driver or config schema
// needs lives here, so that a cap is changed in one place.

/** Time an `open()` may take when the caller passes no signal. */
export const OPEN_TIMEOUT_MS = 10_000
/** How long listing serial ports (serialport runs `udevadm`) may take before it is given up. */
export const LIST_TIMEOUT_MS = 5_000
/** Time a `close()` may take when the caller passes no signal. */
export const CLOSE_TIMEOUT_MS = 5_000

/** Readings a `readings()` iterator buffers before it drops the oldest. */
export const DEFAULT_QUEUE_CAPACITY = 1024
/** Windows a `sensorWindows()` iterator buffers before it drops the oldest. */
export const DEFAULT_WINDOW_QUEUE_CAPACITY = 64
/** Largest buffer an iterator may ask for: 1 Mi readings. */
export const MAX_QUEUE_CAPACITY = 1 << 20

/**
 * Channels one sensor may have (Float32Array values per reading): enough for a replayed 16×16
 * image and its label; an 8×8 digit with its label (65) must fit.
 */
export const MAX_CHANNELS = 512
/** Names of sensors, channels and units. */
export const MAX_NAME_LENGTH = 64
/** Highest nominal rate a config may state: 1 MHz. */
export const MAX_RATE_HZ = 1_000_000

/** Paced drivers (replay, synthetic) wake this often and emit every reading due by then. */
export const PACE_TICK_MS = 10
/** Readings a paced driver emits in one turn of the event loop, so that it never starves I/O. */
export const MAX_BATCH = 4096
/** Replay or synthetic speed-up over the true rate; `'max'` means as fast as the consumer reads. */
export const MAX_SPEED = 1_000_000

/** Replay files: cap on the decompressed size and on the number of rows held in memory. */
export const MAX_REPLAY_BYTES = 64 * 1024 * 1024
export const MAX_REPLAY_ROWS = 4 * 1024 * 1024

/** Synthetic driver caps. */
export const MAX_SINUSOIDS = 16
export const MAX_ANOMALY_LENGTH = 100_000

/** Serial line framing. */
export const DEFAULT_MAX_LINE_LENGTH = 256
export const MAX_LINE_LENGTH = 4096
/**
 * Baud rates a config may name: the POSIX termios rates (`cfsetspeed`) plus the Linux extensions
 * that USB serial adapters accept.
 */
export const BAUD_RATES = [
  110, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000,
  576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
] as const
export const DEFAULT_BAUD_RATE = 115200

/** Reconnection after a port disappears: exponential back-off, capped, with jitter. */
export const RECONNECT_INITIAL_DELAY_MS = 250
export const RECONNECT_MAX_DELAY_MS = 10_000
export const RECONNECT_FACTOR = 2
/** How often an open serial port's device node is checked for having vanished. */
export const PRESENCE_CHECK_MS = 250
/** Fraction of each delay that is randomised ("equal jitter" when 0.5). */
export const RECONNECT_JITTER = 0.5
/** Ceiling on any configured delay: one hour. */
export const MAX_RECONNECT_DELAY_MS = 3_600_000

/**
 * Firmata. StandardFirmata reports its version only after a reset; a board that does not reset
 * on open (a Leonardo, a USB-serial bridge without DTR, a pseudo-terminal) never sends it again,
 * so firmata-io is told to ask after this short delay instead of its default 5 s.
 */
export const FIRMATA_REPORT_VERSION_TIMEOUT_MS = 200
/** Time from an open port to johnny-five's `ready` (version, firmware, capabilities, mapping). */
export const FIRMATA_HANDSHAKE_TIMEOUT_MS = 5_000
/** StandardFirmata's default analog sampling interval (firmata-io `samplingInterval`). */
export const FIRMATA_DEFAULT_SAMPLING_INTERVAL_MS = 19
/** Firmata accepts 10..65535 ms (firmata-io `setSamplingInterval`, 14-bit value in two 7-bit bytes). */
export const FIRMATA_MIN_SAMPLING_INTERVAL_MS = 10
export const FIRMATA_MAX_SAMPLING_INTERVAL_MS = 16383
/** Firmata analog messages carry the channel in the low nibble: 16 channels (Firmata protocol 2.x). */
export const FIRMATA_MAX_ANALOG_CHANNELS = 16
export const FIRMATA_DEFAULT_BAUD_RATE = 57600
/** Default analog reference voltage of a 5 V AVR board (ATmega328P datasheet §24.5). */
export const FIRMATA_DEFAULT_VREF = 5

/** Label of a reading or window without an anomaly (synthetic ground truth). */
export const NORMAL_LABEL = 'normal'

/**
 * johnny-five Thermometer controllers that read one analog pin, which is what a Firmata board's
 * analog reporting carries (johnny-five lib/thermometer.js; each cites its datasheet there).
 * I2C and 1-Wire controllers need Firmata's I2C/OneWire sysex and are not offered.
 */
export const FIRMATA_THERMOMETER_CONTROLLERS = ['LM35', 'LM335', 'TMP36', 'GROVE', 'TINKERKIT', 'ANALOG'] as const
/** Readings per second a firmata sensor samples its channels at, unless configured. */
export const FIRMATA_DEFAULT_RATE_HZ = 50

/** Windowing caps. */
export const MAX_WINDOW_LENGTH = 1 << 20
/** Added to a standard deviation or a range before dividing, so a flat channel gives 0, not NaN. */
export const NORMALISE_EPSILON = 1e-8

/** Units the drivers use. */
export const UNIT_VOLT = 'V'
export const UNIT_CELSIUS = '°C'
