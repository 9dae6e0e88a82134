/**
 * Keys by the second their entry expires in, soonest second first, so that the memory store's
 * background sweep visits the entries that may have expired instead of every entry it holds.
 * A store under load holds a million live tokens and more; a full pass every 30 s was work in
 * proportion to all of them, enough to back requests up at a steady rate (docs/benchmarks.md).
 *
 * The index is a hint, never the truth: a key's entry may since have been deleted, set again
 * with another expiry or extended, and {@link ExpiryIndex.takeDue} hands such stale keys back
 * too. The caller checks each against its entry (the memory store records the second a value is
 * filed under, and drops a filing found under another). Entries are still dropped
 * at read time when expired, whatever the sweep does.
 *
 * Written here rather than taken from npm: a binary heap of numbers and a Map of arrays, a few
 * lines, where a general priority queue would hold one object per key.
 */

/** Width of a bucket, ms. */
export const BUCKET_MS = 1000;

/** The bucket an expiry time falls in. */
export const bucketOf = (expiresAtMs: number): number => Math.floor(expiresAtMs / BUCKET_MS);

export class ExpiryIndex {
  readonly #buckets = new Map<number, string[]>();
  /** The buckets' numbers, a binary min-heap. */
  readonly #heap: number[] = [];

  /** Files `key` under the second of `expiresAtMs`; an entry that never expires is not filed. */
  add(key: string, expiresAtMs: number): void {
    if (!Number.isFinite(expiresAtMs)) return;
    const bucket = bucketOf(expiresAtMs);
    const keys = this.#buckets.get(bucket);
    if (keys !== undefined) {
      keys.push(key);
      return;
    }
    this.#buckets.set(bucket, [key]);
    this.#push(bucket);
  }

  /**
   * Removes and returns every bucket that has begun by `nowMs`, soonest first. The current
   * second's bucket is among them, with keys that expire later in that second: the caller files
   * those again ({@link add}) to be taken at the next sweep.
   */
  takeDue(nowMs: number): Array<{ bucket: number; keys: string[] }> {
    const due: Array<{ bucket: number; keys: string[] }> = [];
    const current = bucketOf(nowMs);
    while (this.#heap.length > 0 && (this.#heap[0] as number) <= current) {
      const bucket = this.#pop();
      due.push({ bucket, keys: this.#buckets.get(bucket) ?? [] });
      this.#buckets.delete(bucket);
    }
    return due;
  }

  /** Keys filed, stale ones included. */
  get size(): number {
    let n = 0;
    for (const keys of this.#buckets.values()) n += keys.length;
    return n;
  }

  clear(): void {
    this.#buckets.clear();
    this.#heap.length = 0;
  }

  #push(bucket: number): void {
    const heap = this.#heap;
    heap.push(bucket);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as number) <= bucket) break;
      heap[i] = heap[parent] as number;
      i = parent;
    }
    heap[i] = bucket;
  }

  #pop(): number {
    const heap = this.#heap;
    const top = heap[0] as number;
    const last = heap.pop() as number;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && (heap[right] as number) < (heap[left] as number) ? right : left;
        if ((heap[child] as number) >= last) break;
        heap[i] = heap[child] as number;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
