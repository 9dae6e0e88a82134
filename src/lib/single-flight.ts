/**
 * Coalesces concurrent calls for one key into one execution: while a call for `key` is in
 * flight, later callers get the same promise. The entry is removed when it settles, so errors
 * are not remembered (callers decide what to cache).
 */
export const createSingleFlight = <T>() => {
  const inflight = new Map<string, Promise<T>>();
  return {
    run(key: string, fn: () => Promise<T>): Promise<T> {
      const existing = inflight.get(key);
      if (existing) return existing;
      const p = fn().finally(() => {
        inflight.delete(key);
      });
      inflight.set(key, p);
      return p;
    },
    get size() {
      return inflight.size;
    },
  };
};
export type SingleFlight<T> = ReturnType<typeof createSingleFlight<T>>;

/**
 * Bounds concurrency: at most `limit` tasks run at once; the rest wait in FIFO order, at most
 * `maxQueue` of them (a further caller is rejected at once with `onOverflow()`). With `maxWait`,
 * a caller given no slot within `maxWait.ms` leaves the queue and is rejected with
 * `maxWait.onTimeout()`: behind a stalled upstream, a queued caller would otherwise wait for every
 * call ahead of it to time out in turn.
 */
export const createLimiter = (
  limit: number,
  maxQueue: number,
  onOverflow: () => Error,
  maxWait?: { ms: number; onTimeout: () => Error },
) => {
  let running = 0;
  const queue: Array<() => void> = [];
  // A freed slot passes straight to the first waiter (`running` unchanged): were it counted free
  // until the waiter resumes, a caller in between would take it too, one over the limit.
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else running--;
  };
  const waitForSlot = () =>
    new Promise<void>((resolve, reject) => {
      if (maxWait === undefined) {
        queue.push(resolve);
        return;
      }
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        // Still queued (a granted waiter is no longer in the queue): leave it, slot-less.
        const at = queue.indexOf(grant);
        if (at >= 0) {
          queue.splice(at, 1);
          reject(maxWait.onTimeout());
        }
      }, maxWait.ms);
      queue.push(grant);
    });
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (running >= limit) {
        if (queue.length >= maxQueue) throw onOverflow();
        await waitForSlot();
      } else {
        running++;
      }
      try {
        return await fn();
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
    get queued() {
      return queue.length;
    },
  };
};
