/**
 * Time source. Every part reads time from an injected clock so that TTL and cache tests run on
 * a fake clock. `nowMs` is milliseconds since the Unix epoch.
 */
export type Clock = { nowMs(): number };

/** The wall clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** Whole seconds since the epoch, as JWT NumericDates are. */
export const nowSeconds = (clock: Clock): number => Math.floor(clock.nowMs() / 1000);

/** A clock for tests: starts at `startMs` and moves only when told. */
export const createFakeClock = (startMs = Date.UTC(2026, 0, 1)) => {
  let now = startMs;
  return {
    nowMs: () => now,
    advanceMs: (ms: number) => {
      now += ms;
    },
    advanceSeconds: (s: number) => {
      now += s * 1000;
    },
    setMs: (ms: number) => {
      now = ms;
    },
  };
};
export type FakeClock = ReturnType<typeof createFakeClock>;
