import { UNIT_NS, durationTerms } from './duration-grammar.js';

/** Whole seconds, or a `TypeError` when they are not a safe integer (JSON or YAML `1e300`, 20 digits). */
const safeSeconds = (seconds: number, input: string | number): number => {
  if (!Number.isSafeInteger(seconds)) {
    throw new TypeError(`invalid duration ${JSON.stringify(input)}: larger than ${Number.MAX_SAFE_INTEGER}s`);
  }
  return seconds;
};

/**
 * Durations as Vault accepts them (`parseutil.ParseDurationSecond`): a number of seconds; a whole
 * number of days (`"2d"`, and nothing else with `d`: Vault refuses `"1d12h"` and `"1.5d"`); or
 * what Go's `time.ParseDuration` takes, integer or decimal numbers with units
 * `ns us µs μs ms s m h` (`"1h30m"`, `"768h"`, `".5h"`); `"90"` is seconds and `""` is 0.
 * Returns whole seconds (truncated, so `"500ms"` is 0).
 *
 * Throws `TypeError` on anything else: a negative or non-finite number, an unknown unit, and a
 * result that is not a safe integer (`"99999999999999999999"`, `1e300`), which no arithmetic on
 * it could be trusted with. Bounds tighter than that are the caller's to check.
 */
export const parseDurationSeconds = (input: string | number): number => {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new TypeError(`invalid duration ${String(input)}`);
    return safeSeconds(Math.floor(input), input);
  }
  const s = input.trim();
  if (s === '') return 0;
  if (/^\d+$/.test(s)) return safeSeconds(Number(s), input);
  const days = /^(\d+)d$/.exec(s);
  if (days !== null) return safeSeconds(Number(days[1]) * 86_400, input);
  // Go's grammar, without its sign: each term has digits before or after its point (or both),
  // then a unit. Summed in float64 seconds, not Go's int64 nanoseconds: a configuration file may
  // say more than Go's 292 years, which the bounds of its field then refuse by name.
  let total = 0;
  for (const term of durationTerms(s)) {
    const ns = term === undefined ? undefined : UNIT_NS[term.unit];
    if (term === undefined || ns === undefined) throw new TypeError(`invalid duration "${input}"`);
    total += Number(`${term.whole}.${term.fraction ?? ''}`) * (Number(ns) / 1e9);
  }
  return safeSeconds(Math.floor(total + 1e-9), input);
};

/** Formats seconds the way Go's time.Duration prints them (`1h0m0s`, `30m0s`, `45s`). */
export const formatDuration = (seconds: number): string => {
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
};
