// UpdateAdmission's bookkeeping: unverified slots evict the oldest, verified slots and reserved
// bytes refuse with the limit that is full, and a release frees exactly what was held.
import t from 'tap'
import { UpdateAdmission } from '../../../protocols/mesh/index.js'

t.test('the oldest unverified stream is evicted for a newcomer', async (t) => {
  const admission = new UpdateAdmission({ maxUnverified: 2, maxVerified: 1, maxBufferedBytes: 100 })
  const evicted: string[] = []
  const a = admission.enter(() => evicted.push('a'))
  const b = admission.enter(() => evicted.push('b'))
  const c = admission.enter(() => evicted.push('c'))
  t.same(evicted, ['a'], 'a, the oldest, made room for c')
  t.equal(admission.verify(a), 'streams', 'an evicted stream cannot go on')
  t.equal(admission.verify(b), undefined)
  t.equal(admission.verify(c), 'streams', 'one verified slot only')
  t.same(admission.stats(), { unverified: 1, known: 0, verified: 1, bufferedBytes: 0, evicted: 1 })
  for (const x of [a, b, c]) admission.release(x)
  t.same(admission.stats(), { unverified: 0, known: 0, verified: 0, bufferedBytes: 0, evicted: 1 })
})

t.test('a silent stream is evicted before a speaking one; known peers have slots unknown ones cannot take', async (t) => {
  const admission = new UpdateAdmission({ maxUnverified: 2, maxKnown: 1, maxVerified: 4, maxBufferedBytes: 100 })
  const evicted: string[] = []
  const speaking = admission.enter(() => evicted.push('speaking'))
  admission.speak(speaking)
  admission.enter(() => evicted.push('silent'))
  const known = admission.enter(() => evicted.push('known'), { known: true })
  t.ok(known.known, 'a known peer takes its own slot')
  const newcomer = admission.enter(() => evicted.push('newcomer 1'))
  t.same(evicted, ['silent'], 'the silent stream went, though the speaking one is older')
  admission.speak(newcomer)
  admission.enter(() => evicted.push('newcomer 2'))
  t.same(evicted, ['silent', 'speaking'], 'with only speaking ones left, the oldest goes')
  t.equal(admission.stats().known, 1, 'the known peer\'s stream was never a candidate')
  const overflow = admission.enter(() => evicted.push('known 2'), { known: true })
  t.notOk(overflow.known, 'with its pool full, a known peer competes with the others')
  t.equal(admission.verify(known), undefined)
  t.equal(admission.stats().known, 0)
})

t.test('reserved bytes are capped across streams and freed on release', async (t) => {
  const admission = new UpdateAdmission({ maxUnverified: 4, maxVerified: 4, maxBufferedBytes: 100 })
  const [x, y] = [admission.enter(() => undefined), admission.enter(() => undefined)]
  t.equal(admission.verify(x), undefined)
  t.equal(admission.verify(y), undefined)
  t.equal(admission.reserve(x, 70), undefined)
  t.equal(admission.reserve(y, 31), 'bytes', '70 + 31 > 100')
  t.equal(admission.reserve(y, 30), undefined)
  t.equal(admission.stats().bufferedBytes, 100)
  admission.release(x)
  admission.release(x)
  t.equal(admission.stats().bufferedBytes, 30, 'a second release frees nothing more')
  t.throws(() => admission.reserve(admission.enter(() => undefined), 1), { code: 'CW_INVALID_ARGUMENT' }, 'only verified streams reserve')
  t.throws(() => new UpdateAdmission({ maxUnverified: 0, maxVerified: 1, maxBufferedBytes: 1 }), { code: 'CW_INVALID_ARGUMENT' })
})
