// The bounded queue behind every readings() iterator: drop-oldest, counted, never more than its capacity.

import t from 'tap'
import { BoundedQueue } from '../../../hardware/sensors/index.js'

t.test('drops the oldest when full and counts it', async (t) => {
  let drops = 0
  const q = new BoundedQueue<number>(3, { onDrop: () => drops++ })
  for (let i = 0; i < 10; i++) q.push(i)
  t.equal(q.size, 3, 'never more than its capacity')
  t.equal(q.dropped, 7)
  t.equal(drops, 7, 'onDrop once per dropped item')
  const got = [await q.next(), await q.next(), await q.next()].map((r) => r.value)
  t.same(got, [7, 8, 9], 'the newest items survive, in order')
  q.push(10)
  q.end()
  q.push(11)
  t.same([await q.next(), await q.next()], [{ value: 10, done: false }, { value: undefined, done: true }], 'drains, then done; pushes after end are ignored')
})

t.test('waiting consumers, failure and clear', async (t) => {
  const q = new BoundedQueue<string>(2)
  const a = q.next()
  const b = q.next()
  q.push('x')
  q.push('y')
  t.same([await a, await b].map((r) => r.value), ['x', 'y'], 'consumers waiting in order are served in order')
  q.push('z')
  q.fail(new Error('gone'))
  t.same(await q.next(), { value: 'z', done: false }, 'buffered items come before the error')
  await t.rejects(q.next(), /gone/)
  t.same(await q.next(), { value: undefined, done: true }, 'then done')
  const c = new BoundedQueue<number>(4)
  c.push(1)
  c.clear()
  t.same(await c.next(), { value: undefined, done: true }, 'clear drops what is buffered')
  t.equal(c.room, Infinity, 'a closed queue never limits a producer')
})
