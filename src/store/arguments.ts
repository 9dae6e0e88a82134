/**
 * The checks of the Store interface's arguments, shared by both stores so that they refuse the
 * same calls in the same way. A bad argument is the caller's mistake, so a TypeError, thrown before
 * anything is written. Unchecked, the stores part ways: for a TTL of 0 the memory store writes an
 * entry that is gone at once and Redis one that lives a millisecond; NaN or Infinity never expires
 * in memory, where Redis refuses the command, after the ops of a batch before it. Internal to
 * store/.
 */
import type { BatchOp } from './store.js';

/**
 * A TTL in ms: a number > 0 and at most `Number.MAX_SAFE_INTEGER` (beyond, neither a JS time nor
 * Redis's PX counts it to the millisecond); `undefined` (no expiry) unless `required`.
 * @throws TypeError otherwise.
 */
export const assertTtlMs = (ttlMs: number | undefined, required = false): void => {
  if (ttlMs === undefined && !required) return;
  if (typeof ttlMs !== 'number' || !(ttlMs > 0 && ttlMs <= Number.MAX_SAFE_INTEGER)) {
    throw new TypeError(
      `ttlMs must be a number > 0 and at most ${Number.MAX_SAFE_INTEGER}, got ${String(ttlMs)}`,
    );
  }
};

/**
 * A whole number within ±`Number.MAX_SAFE_INTEGER` (an increment; a stream's length or count, with `min`).
 * @throws TypeError otherwise.
 */
export const assertInteger = (name: string, value: number, min = -Number.MAX_SAFE_INTEGER): void => {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`${name} must be a whole number of at least ${min}, got ${String(value)}`);
  }
};

/**
 * Every op of a batch, before the first is run: one bad op leaves the whole batch unwritten.
 * @throws TypeError when an op's TTL is not one {@link assertTtlMs} takes.
 */
export const assertBatch = (ops: readonly BatchOp[]): void => {
  for (const op of ops) {
    if (op.op === 'set') assertTtlMs(op.options?.ttlMs);
    if (op.op === 'indexAdd') assertTtlMs(op.ttlMs, true);
  }
};

/**
 * A stream entry: at least one field (Redis keeps no entry without one), and a `maxLen` ≥ 1.
 * @throws TypeError otherwise.
 */
export const assertStreamAdd = (fields: Readonly<Record<string, string>>, maxLen: number): void => {
  if (Object.keys(fields).length === 0) throw new TypeError('a stream entry needs at least one field');
  assertInteger('maxLen', maxLen, 1);
};

/**
 * Whether `value` is an integer as Redis's INCRBY reads one: decimal digits, `-` and no other
 * sign, no leading zero, no space; within ±`Number.MAX_SAFE_INTEGER`, which a JS number counts
 * exactly.
 */
export const isCounter = (value: string): boolean =>
  /^(0|-?[1-9][0-9]*)$/.test(value) && Number.isSafeInteger(Number(value));
