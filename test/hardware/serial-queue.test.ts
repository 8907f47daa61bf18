// The per-session queue of the PKCS#11 store: order, isolation of failures, and aborts while waiting.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { SerialQueue } from '../../hardware/serial-queue.js'

t.test('tasks run one at a time, in order', async (t) => {
  const queue = new SerialQueue()
  const events: string[] = []
  let running = 0
  let most = 0
  const task = (name: string, ms: number) => async () => {
    running++
    most = Math.max(most, running)
    events.push(`start ${name}`)
    await sleep(ms)
    events.push(`end ${name}`)
    running--
    return name
  }
  const results = await Promise.all([queue.run(task('a', 20)), queue.run(task('b', 1)), queue.run(task('c', 5))])
  t.same(results, ['a', 'b', 'c'])
  t.equal(most, 1, 'never two at once')
  t.same(events, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
})

t.test('a failing task does not stop the ones after it', async (t) => {
  const queue = new SerialQueue()
  const failed = queue.run(() => {
    throw new Error('boom')
  })
  const after = queue.run(() => 'fine')
  await t.rejects(failed, { message: 'boom' })
  t.equal(await after, 'fine')
})

t.test('aborting while waiting leaves the queue without running, and order holds', async (t) => {
  const queue = new SerialQueue()
  const ran: string[] = []
  const controller = new AbortController()
  const first = queue.run(async () => {
    await sleep(30)
    ran.push('first')
  })
  const aborted = queue.run(() => {
    ran.push('aborted')
  }, controller.signal)
  const third = queue.run(() => {
    ran.push('third')
  })
  controller.abort()
  await t.rejects(aborted, { name: 'AbortError' })
  await Promise.all([first, third])
  t.same(ran, ['first', 'third'], 'the aborted task never ran, the third waited for the first')
  await t.rejects(
    queue.run(() => ran.push('never'), AbortSignal.abort()),
    { name: 'AbortError' },
  )
  await queue.drain()
  t.same(ran, ['first', 'third'])
})
