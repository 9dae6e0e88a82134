/*
 * The grammar of Go's `time.ParseDuration`, the one both readings of a duration scan with:
 * src/lib/go-duration.ts (request fields, exactly as Vault: a sign, int64 nanoseconds, Go's
 * errors) and src/lib/duration.ts (configuration files, lenient: whole seconds, a `TypeError`).
 * What lies around the terms (a sign, a bare number of seconds, `<n>d`) and the arithmetic on
 * them are each reading's own.
 */

/** Nanoseconds in a second. */
export const NS_PER_S = 1_000_000_000n;

/**
 * Nanoseconds in each unit Go knows: `ns`, `us`, `µs` (micro sign), `μs` (Greek mu), `ms`, `s`,
 * `m`, `h`. No prototype, so that a unit spelt like an object's property (`1constructor`) is as
 * unknown as any other.
 */
export const UNIT_NS: Readonly<Record<string, bigint>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, bigint>, {
    ns: 1n,
    us: 1_000n,
    '\u00b5s': 1_000n,
    '\u03bcs': 1_000n,
    ms: 1_000_000n,
    s: NS_PER_S,
    m: 60n * NS_PER_S,
    h: 3600n * NS_PER_S,
  }),
);

/** One term of a duration: a decimal number and its unit (`1h`, `.5m`, `1.s`). */
export type DurationTerm = {
  /** The ASCII digits before the point; `''` in `.5h`. */
  whole: string;
  /** The ASCII digits after the point; `''` in `1.h`, `undefined` without a point. */
  fraction: string | undefined;
  /**
   * Everything up to the next digit or point, as Go reads a unit: `''` where it is missing (`3`),
   * and not always a key of {@link UNIT_NS} (`d`, `h `, `m-`).
   */
  unit: string;
};

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * The terms of `text` (no sign: a reading strips its own), one at a time, so that a reading can
 * stop at the first term it refuses, where Go would. Yields `undefined`, and stops, where no number
 * starts (neither a digit nor a point) or a point has no digit on either side (`.s`). Yields
 * nothing for `''`.
 */
export function* durationTerms(text: string): Generator<DurationTerm | undefined, void, undefined> {
  let i = 0;
  while (i < text.length) {
    const start = i;
    while (isDigit(text[i])) i++;
    const whole = text.slice(start, i);
    let fraction: string | undefined;
    if (text[i] === '.') {
      const from = ++i;
      while (isDigit(text[i])) i++;
      fraction = text.slice(from, i);
    }
    if (whole === '' && (fraction === undefined || fraction === '')) {
      yield undefined;
      return;
    }
    const unitStart = i;
    while (i < text.length && !(text[i] === '.' || isDigit(text[i]))) i++;
    yield { whole, fraction, unit: text.slice(unitStart, i) };
  }
}
