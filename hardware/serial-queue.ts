// Runs tasks one at a time, in order (key-store sessions, inference sessions, the round store).
// A PKCS#11 session may hold one operation at a time
// (PKCS#11 v2.40 §5.2: "a session can perform only one operation at a time"), so every call on a
// store's session goes through its queue. A caller that aborts while waiting leaves the queue
// without running its task; the tasks before and after it are unaffected.

const waitOrAbort = (previous: Promise<void>, signal: AbortSignal | undefined): Promise<void> => {
  if (signal === undefined) return previous
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    void previous.then(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    })
  })
}

export class SerialQueue {
  // Resolves when every task queued so far has finished; never rejects.
  #tail: Promise<void> = Promise.resolve()

  run<T>(task: () => T | Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.#tail
    let release: () => void = () => undefined
    const finished = new Promise<void>((resolve) => {
      release = resolve
    })
    this.#tail = previous.then(() => finished)
    return (async () => {
      try {
        await waitOrAbort(previous, signal)
        signal?.throwIfAborted()
        return await task()
      } finally {
        release()
      }
    })()
  }

  /** Resolves once every task queued so far has finished. */
  drain(): Promise<void> {
    return this.#tail
  }
}
