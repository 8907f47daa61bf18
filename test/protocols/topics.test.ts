import t from 'tap'
import { PROTOCOL_MODEL, PROTOCOL_UPDATE, fleetTopic } from '../../protocols/index.js'

const fleet = `0x${'AB'.repeat(32)}` as const
t.equal(fleetTopic(fleet, 'rounds'), `counterweight/0x${'ab'.repeat(32)}/rounds/1`)
t.equal(fleetTopic(fleet, 'models'), `counterweight/0x${'ab'.repeat(32)}/models/1`)
t.equal(fleetTopic(fleet, 'events'), `counterweight/0x${'ab'.repeat(32)}/events/1`)
t.equal(PROTOCOL_UPDATE, '/counterweight/update/1.0.0')
t.equal(PROTOCOL_MODEL, '/counterweight/model/1.0.0')
t.throws(() => fleetTopic('0x12', 'rounds'), { code: 'CW_INVALID_ARGUMENT', details: { field: 'fleet' } })
t.throws(() => fleetTopic(fleet, 'other' as never), { code: 'CW_INVALID_ARGUMENT', details: { field: 'kind' } })
