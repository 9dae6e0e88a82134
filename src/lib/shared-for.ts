import type { Clock } from './clock.js';

/** `compute`'s promise, shared by every call within `ms` of the call that started it. */
export const sharedFor = <T>(ms: number, clock: Clock, compute: () => Promise<T>): (() => Promise<T>) => {
  let last: { atMs: number; value: Promise<T> } | undefined;
  return () => {
    const now = clock.nowMs();
    // A clock stepped back (NTP) ends the window too, rather than stretching it.
    if (last === undefined || now - last.atMs >= ms || now < last.atMs)
      last = { atMs: now, value: compute() };
    return last.value;
  };
};
