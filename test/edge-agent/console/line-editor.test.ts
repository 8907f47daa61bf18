// The console's line editor fed the bytes picocom, screen and minicom send.
import t from 'tap'
import { LineEditor, type LineEvent } from '../../../edge-agent/console/index.js'

const editor = (max?: number) => {
  let echoed = ''
  const e = new LineEditor({ echo: (text) => void (echoed += text), complete: (p) => ['status', 'sensors', 'help'].filter((c) => c.startsWith(p)), ...(max === undefined ? {} : { maxLineBytes: max }) })
  return { feed: (s: string | Uint8Array): LineEvent[] => e.feed(typeof s === 'string' ? Buffer.from(s, 'latin1') : s), echoed: () => echoed, line: () => e.line }
}

t.test('editing', async (t) => {
  t.same(editor().feed('stax\x7ftus\r\n'), [{ kind: 'line', text: 'status' }], 'DEL erases; CR LF is one end')
  t.same(editor().feed('junk\x15help\r'), [{ kind: 'line', text: 'help' }], 'Ctrl-U clears')
  t.same(editor().feed('sens\x03'), [{ kind: 'cancel' }], 'Ctrl-C cancels')
  const h = editor()
  h.feed('status\r')
  h.feed('\x1b[A')
  t.equal(h.line(), 'status', 'up arrow brings the last line back')
  const c = editor()
  c.feed('he\t')
  t.equal(c.line(), 'help ', 'tab completes a unique command')
  const s = editor()
  s.feed('s\t')
  t.match(s.echoed(), 'status  sensors', 'tab lists the candidates')
})

t.test('noise and overlong lines', async (t) => {
  t.same(editor().feed(Buffer.from([0x00, 0xff, 0x80, 0x1b, 0x5b, 0x31, 0x7e, 0x68, 0x69, 0x0d])), [{ kind: 'line', text: 'hi' }], 'binary bytes and unknown escapes are dropped')
  const o = editor(8)
  t.same(o.feed('0123456789\r'), [{ kind: 'overlong' }], 'a line over the cap is refused as a whole')
  t.same(o.feed('ok\r'), [{ kind: 'line', text: 'ok' }], 'and the next line is fine')
})
