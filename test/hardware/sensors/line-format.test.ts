// Line framing and parsing without a port: strict numbers, the bounded line framer, NMEA 0183
// checksums and coordinates, and parsers that never throw on hostile input.

import fc from 'fast-check'
import t from 'tap'
import { createLineParser, formatNmea, lineFormatSchema, nmeaChecksum, nmeaCoordinate, parseNmea } from '../../../hardware/sensors/index.js'
import { LineFramer, type FramingProblem } from '../../../hardware/sensors/line-framer.js'
import { parseNumber } from '../../../hardware/sensors/parse-number.js'

t.test('parseNumber accepts plain decimals only', async (t) => {
  for (const [text, value] of [
    ['0', 0],
    ['-1.5', -1.5],
    ['+2', 2],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['-2.5E-2', -0.025],
  ] as const) {
    t.equal(parseNumber(text), value, text)
  }
  for (const text of ['', ' ', '1 ', '0x10', '1e999', 'Infinity', 'NaN', '1,5', '--1', '1e', '.', '3.4e39']) {
    t.equal(parseNumber(text), undefined, `${JSON.stringify(text)} is refused`)
  }
})

function framer(max: number): { framer: LineFramer; lines: string[]; problems: FramingProblem[] } {
  const lines: string[] = []
  const problems: FramingProblem[] = []
  return { framer: new LineFramer(max, { onLine: (l) => lines.push(l), onReject: (p) => problems.push(p) }), lines, problems }
}

t.test('LineFramer: CR LF, chunk boundaries, caps and garbage', async (t) => {
  const f = framer(8)
  const bytes = Buffer.from('ab\r\ncd\nefgh')
  for (const b of bytes) f.framer.push(Uint8Array.of(b)) // one byte at a time
  f.framer.push(Buffer.from('ij\n'))
  t.same(f.lines, ['ab', 'cd', 'efghij'], 'lines reassembled across chunks, CR stripped')
  f.framer.push(Buffer.from('123456789\n'))
  f.framer.push(Buffer.from('x'.repeat(100)))
  t.equal(f.framer.pending, 8, 'an unterminated over-long line never holds more than the cap')
  f.framer.push(Buffer.from('yy\nok\n'))
  f.framer.push(Buffer.from([0x31, 0x00, 0x32, 0x0a, 0x31, 0xc3, 0xa9, 0x0a]))
  t.same(f.problems, ['overlong', 'overlong', 'garbage', 'garbage'], 'over-long and non-ASCII lines are rejected and reported')
  t.same(f.lines.slice(3), ['ok'], 'framing recovers on the next newline')
  f.framer.push(Buffer.from('part'))
  t.equal(f.framer.discard(), true, 'discard() reports a partial line')
  t.equal(f.framer.discard(), false, 'and nothing after that')
})

t.test('LineFramer never throws and never exceeds its cap on random bytes', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
      const f = framer(64)
      for (const c of chunks) {
        f.framer.push(c)
        if (f.framer.pending > 64) return false
      }
      return f.lines.every((l) => l.length <= 64 && !l.includes('\n'))
    }),
    { numRuns: 300 },
  )
  t.pass('300 random byte streams')
})

t.test('NMEA 0183: checksum, address, coordinates', async (t) => {
  const body = 'GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'
  t.equal(nmeaChecksum(body), 0x47, 'XOR of the characters between $ and *')
  t.match(parseNmea(formatNmea(body)), { talker: 'GP', formatter: 'GGA' })
  t.equal(parseNmea('$GPGGA,1*00'), 'badChecksum')
  t.equal(parseNmea('$GPGGA,1'), 'missingChecksum')
  t.match(parseNmea('$GPGGA,1', false), { formatter: 'GGA', fields: ['1'] }, 'checksum optional when not required')
  t.equal(parseNmea('GPGGA,1*00'), 'malformed', 'no start character')
  t.equal(parseNmea('$GPGGA,1*G0'), 'malformed', 'checksum not hex')
  t.equal(parseNmea(formatNmea('gpgga,1')), 'malformed', 'lower-case address')
  t.match(parseNmea(formatNmea('PGRME,15.0,M')), { talker: 'P', formatter: 'GRME' }, 'proprietary sentence')
  t.match(parseNmea('!' + formatNmea('AIVDM,1,1,,A,13aG').slice(1)), { formatter: 'VDM' }, "'!' encapsulation sentences")
  t.equal(nmeaCoordinate('4807.038', 'N', 'latitude')?.toFixed(6), (48 + 7.038 / 60).toFixed(6))
  t.equal(nmeaCoordinate('01131.000', 'W', 'longitude'), -(11 + 31 / 60))
  t.equal(nmeaCoordinate('4860.0', 'N', 'latitude'), undefined, '60 minutes is not a minute value')
  t.equal(nmeaCoordinate('9100.0', 'N', 'latitude'), undefined, 'beyond 90°')
  t.equal(nmeaCoordinate('4807.038', 'E', 'latitude'), undefined, 'wrong hemisphere letter')
  t.equal(nmeaCoordinate('', 'N', 'latitude'), undefined, 'empty field (no fix)')
})

t.test('line parsers', async (t) => {
  const csv = createLineParser(lineFormatSchema.parse({ kind: 'csv', delimiter: ' ', channels: [{ name: 'a' }, { name: 'b' }] }))
  t.same([...(csv('  1.5 \t -2 ') as Float32Array)], [1.5, -2], 'whitespace-delimited')
  t.equal(csv('1'), 'wrongFieldCount')
  const semi = createLineParser(lineFormatSchema.parse({ kind: 'csv', delimiter: ';', channels: [{ name: 'a' }, { name: 'b' }] }))
  t.same([...(semi('1; 2') as Float32Array)], [1, 2], 'semicolons, spaces around cells')
  t.equal(semi('1;x'), 'nonNumeric')
  const kv = createLineParser(lineFormatSchema.parse({ kind: 'key-value', channels: [{ name: 'a' }] }))
  t.same([...(kv('a=1 a=2') as Float32Array)], [2], 'a repeated key: the last wins')
  t.equal(kv('=1'), 'malformed', 'an empty key')
  const rmc = createLineParser(lineFormatSchema.parse({ kind: 'nmea', sentence: 'RMC' }))
  const r = rmc(formatNmea('GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W')) as Float32Array
  t.same([...r.slice(2)], [Math.fround(22.4), Math.fround(84.4)], 'RMC preset: speed and course')
  t.equal(rmc(formatNmea('GPRMC,1,A')), 'wrongFieldCount', 'a truncated sentence')
  const mtw = createLineParser(lineFormatSchema.parse({ kind: 'nmea', sentence: 'MTW' }))
  t.same([...(mtw(formatNmea('YXMTW,17.9,C')) as Float32Array)], [Math.fround(17.9)], 'MTW preset: water temperature')
})

t.test('parsers never throw on random lines', async (t) => {
  const parsers = [
    createLineParser(lineFormatSchema.parse({ kind: 'csv', channels: [{ name: 'a' }, { name: 'b' }] })),
    createLineParser(lineFormatSchema.parse({ kind: 'key-value', channels: [{ name: 'a' }, { name: 'b' }] })),
    createLineParser(lineFormatSchema.parse({ kind: 'nmea', sentence: 'GGA' })),
  ]
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.constantFrom('$', '$*', '$GPGGA*', 'a=', ',', '$GPGGA,,,,,,,,,,*00')), (line) => {
      for (const parse of parsers) {
        const result = parse(line)
        if (!(typeof result === 'string' || result instanceof Float32Array)) return false
      }
      return true
    }),
    { numRuns: 500 },
  )
  t.pass('500 random lines through each parser')
})
