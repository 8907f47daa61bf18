// A fixed-capacity FIFO with one async consumer. Overflow policy: drop the oldest item, count it,
// keep the newest, because a model that falls behind a sensor wants the latest signal and a
// bounded lag, never unbounded memory.

export interface BoundedQueueHooks {
  /** Called once per item dropped because the queue was full. */
  readonly onDrop?: () => void
  /** Called after the consumer took an item, so a producer waiting for room can go on. */
  readonly onTake?: () => void
}

export class BoundedQueue<T> {
  readonly capacity: number
  #items: (T | undefined)[]
  #head = 0
  #size = 0
  #dropped = 0
  #done = false
  #error: Error | undefined
  // Consumers waiting for an item; more than one only when next() is called without awaiting.
  #waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void }[] = []
  readonly #hooks: BoundedQueueHooks

  constructor(capacity: number, hooks: BoundedQueueHooks = {}) {
    this.capacity = capacity
    this.#items = new Array<T | undefined>(capacity)
    this.#hooks = hooks
  }

  get size(): number {
    return this.#size
  }

  get dropped(): number {
    return this.#dropped
  }

  get room(): number {
    return this.#done ? Infinity : this.capacity - this.#size
  }

  get closed(): boolean {
    return this.#done
  }

  push(item: T): void {
    if (this.#done) return
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) {
      waiter.resolve({ value: item, done: false })
      this.#hooks.onTake?.()
      return
    }
    if (this.#size === this.capacity) {
      // Overwrite the oldest slot and move the head past it.
      this.#items[this.#head] = item
      this.#head = (this.#head + 1) % this.capacity
      this.#dropped++
      this.#hooks.onDrop?.()
      return
    }
    this.#items[(this.#head + this.#size) % this.capacity] = item
    this.#size++
  }

  /** No more items: the consumer drains what is buffered, then sees `done`. */
  end(): void {
    if (this.#done) return
    this.#done = true
    this.#settleWaiters()
  }

  /** The consumer drains what is buffered, then gets `error`. */
  fail(error: Error): void {
    if (this.#done) return
    this.#error = error
    this.end()
  }

  /** Drops everything buffered and ends at once. */
  clear(): void {
    this.#items.fill(undefined)
    this.#size = 0
    this.end()
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#size > 0) {
      const item = this.#items[this.#head] as T
      this.#items[this.#head] = undefined
      this.#head = (this.#head + 1) % this.capacity
      this.#size--
      this.#hooks.onTake?.()
      return Promise.resolve({ value: item, done: false })
    }
    if (this.#done) {
      if (this.#error !== undefined) {
        const error = this.#error
        this.#error = undefined
        return Promise.reject(error)
      }
      return Promise.resolve({ value: undefined, done: true })
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject })
    })
  }

  #settleWaiters(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) {
      if (this.#error !== undefined) {
        const error = this.#error
        this.#error = undefined
        waiter.reject(error)
      } else {
        waiter.resolve({ value: undefined, done: true })
      }
    }
  }
}
