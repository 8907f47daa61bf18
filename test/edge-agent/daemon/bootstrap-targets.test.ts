// The agent's bootstrap list: addresses without a peer id and duplicates are skipped, each skip
// logged with its reason; a malformed address is a ConfigError naming the file.
import t from 'tap'
import { pino } from 'pino'
import { bootstrapTargets } from '../../../edge-agent/daemon/bootstrap-targets.js'

const PEER = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'

const capture = () => {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) })
  return { lines, logger }
}

t.test('dialable addresses kept once; each skip logged with its address and reason', async (t) => {
  const { lines, logger } = capture()
  const good = `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`
  const targets = bootstrapTargets({ file: 'device.json', addresses: [good, '/ip4/127.0.0.1/tcp/4002', good], logger })
  t.same(targets.map(String), [good])
  t.match(lines, [
    { level: 40, address: '/ip4/127.0.0.1/tcp/4002', reason: 'no-peer-id', msg: /no \/p2p\/<peer id>/ },
    { level: 20, address: good, reason: 'duplicate' },
  ])
})

t.test('none dialable: a warning that only mDNS is left', async (t) => {
  const { lines, logger } = capture()
  t.same(bootstrapTargets({ file: 'device.json', addresses: ['/ip4/127.0.0.1/tcp/4002'], logger }), [])
  t.match(lines.at(-1), { level: 40, msg: /no bootstrap address is dialable/ })
})

t.test('a malformed address: CW_CONFIG naming the file and the field', async (t) => {
  const { logger } = capture()
  t.throws(() => bootstrapTargets({ file: 'device.json', addresses: ['not a multiaddr'], logger }), { code: 'CW_CONFIG', message: /device\.json.*bootstrap.*not a multiaddr/ })
})
