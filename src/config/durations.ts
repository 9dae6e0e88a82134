import { parseDurationSeconds } from '../lib/duration.js';
import type { Problem } from './types.js';

/**
 * Bounds of a duration field, in whole seconds, with the words a refusal uses. `minSeconds`
 * defaults to 0. A field without bounds of its own gets {@link TTL_BOUNDS} (ten years), so that no
 * duration reaches arithmetic that could overflow (seconds × 1000 stays a safe integer).
 */
export type DurationBounds = { minSeconds?: number; maxSeconds: number; why: string };

/** TTLs, lease TTLs, periods and cache TTLs: at most ten years (315 360 000 s). */
export const TTL_BOUNDS: DurationBounds = {
  maxSeconds: 10 * 365 * 86_400,
  why: '10 years (315360000s) at most',
};

/**
 * `leeway`: at most 300 s. The leeway widens every `exp`, `nbf` and `iat` check; a large one
 * would let expired or not-yet-valid tokens log in (the API server itself allows 60 s).
 */
export const LEEWAY_BOUNDS: DurationBounds = {
  maxSeconds: 300,
  why: '300s at most: a larger leeway would let expired and not-yet-valid tokens log in',
};

/** `listener.login_rate_limit.interval`: from 1 s to 1 h. */
export const RATE_INTERVAL_BOUNDS: DurationBounds = {
  minSeconds: 1,
  maxSeconds: 3600,
  why: 'between 1s and 1h',
};

/**
 * Timeouts of calls (TokenReview, JWKS fetches, Redis): at least 1 s, since a timeout of 0 (or
 * of `500ms`, which is 0 whole seconds) would fail every call; and at most 2 147 483 s, Node's
 * timer limit (2^31 − 1 ms, about 24.8 days), past which a timer fires at once.
 */
export const TIMEOUT_BOUNDS: DurationBounds = {
  minSeconds: 1,
  maxSeconds: Math.floor((2 ** 31 - 1) / 1000),
  why: "between 1s and 2147483s (about 24 days, Node's timer limit)",
};

/**
 * Parses a duration field into whole seconds, reporting a malformed or out-of-bounds one at
 * `path` (with `fallback` returned so that normalizing can go on and report every problem).
 * `undefined` yields `fallback` unchecked: defaults are within bounds by construction.
 */
export const durationSeconds =
  (problem: Problem) =>
  (
    value: string | number | undefined,
    path: string,
    fallback: number,
    bounds: DurationBounds = TTL_BOUNDS,
  ): number => {
    if (value === undefined) return fallback;
    let seconds: number;
    try {
      seconds = parseDurationSeconds(value);
    } catch {
      // JSON would show Infinity (YAML's .inf, 1e309) as null.
      const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
      problem(path, `expected a duration: seconds, or a string like "90s", "1h"; got ${shown}`);
      return fallback;
    }
    if (seconds < (bounds.minSeconds ?? 0) || seconds > bounds.maxSeconds) {
      problem(path, `must be ${bounds.why}; got ${seconds}s`);
      return fallback;
    }
    return seconds;
  };
