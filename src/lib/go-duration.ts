import { NS_PER_S, UNIT_NS, durationTerms } from './duration-grammar.js';
import { isExactNumber } from './exact-json.js';
import { parseGoBool } from './go-bool.js';

/*
 * Durations exactly as Vault's framework reads a `TypeDurationSecond` request field
 * (sdk/framework/field_data.go): go-secure-stdlib's `parseutil.ParseDurationSecond`, itself Go's
 * `strconv.ParseInt` and `time.ParseDuration`, errors worded as Go words them. Unlike
 * src/lib/duration.ts (configuration files, lenient on purpose), nothing is trimmed or forgiven:
 * a client gets the answer Vault would give. Both scan with src/lib/duration-grammar.ts.
 */

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Go's int64 arithmetic wraps around; so must its mirror. */
const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);

/** How many characters of a printed value a message keeps. */
const GO_VALUE_MAX_CHARS = 200;
/** The longest duration text read (see goParseDuration). */
const MAX_DURATION_CHARS = 4096;

/**
 * Whether `s` may be a secret sent in the wrong field: a string as long as the shortest secret
 * authgate takes (an admin token, 16 characters) that is not made only of what a duration or a
 * number is made of (digits, signs, `.`, `_`, the units' letters), as no secret is.
 */
const secretLike = (s: string): boolean => s.length >= 16 && !/^[\d.+\-_nsuµμmhdxob]*$/u.test(s);

/**
 * What a message shows of a client's text: `***` for one that may be a secret (such a message
 * goes to the audit log and to whoever logs answers), else at most {@link GO_VALUE_MAX_CHARS}
 * characters of it (a body may hold a megabyte of digits; quoting it all cost more than parsing).
 */
const shown = (s: string): string => {
  const { text, cut } = shownPart(s);
  return cut ? `${text}…` : text;
};
/** {@link shown} before its `…`: the part kept, and whether it was cut (for quoting). */
const shownPart = (s: string): { text: string; cut: boolean } =>
  secretLike(s)
    ? { text: '***', cut: false }
    : { text: cutAt(s, GO_VALUE_MAX_CHARS), cut: s.length > GO_VALUE_MAX_CHARS };

/** The first `n` UTF-16 units of `s`, less a high surrogate the cut would leave alone. */
const cutAt = (s: string, n: number): string => {
  const head = s.slice(0, n);
  const last = head.charCodeAt(head.length - 1);
  return s.length > n && last >= 0xd800 && last <= 0xdbff ? head.slice(0, -1) : head;
};

/** Each byte of `c` (UTF-8) as `\xNN`. */
const hexBytes = (c: string): string =>
  [...Buffer.from(c, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');

/** The time package's `quote`: ASCII as is (`"` and `\` escaped), any other byte as `\xNN`. */
const timeQuote = (input: string): string => {
  const { text: s, cut } = shownPart(input);
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0) ?? 0;
    if (code >= 0x80 || code < 0x20) out += hexBytes(c);
    else out += c === '"' || c === '\\' ? `\\${c}` : c;
  }
  return `${out}${cut ? '…' : ''}"`;
};

const GO_ESCAPES: Record<string, string> = {
  '\u0007': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\u000b': '\\v',
};

/** `strconv.Quote`, for the strings clients send: control characters escaped, the rest as is. */
const strconvQuote = (input: string): string => {
  const { text: s, cut } = shownPart(input);
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0) ?? 0;
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (GO_ESCAPES[c] !== undefined) out += GO_ESCAPES[c];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += c;
  }
  return `${out}${cut ? '…' : ''}"`;
};

/** What a Go parse gives: a value, or the error Go would print. */
type Parsed<T> = { value: T } | { error: string };

const numError = (fn: string, s: string, why: 'invalid syntax' | 'value out of range') => ({
  error: `strconv.${fn}: parsing ${strconvQuote(s)}: ${why}`,
});

/** Digits an int64 can have (9223372036854775807), once leading zeros are dropped. */
const INT64_DIGITS = 19;

/** Go's `strconv.ParseInt(s, 10, 64)`. */
const parseInt64 = (s: string): Parsed<bigint> => {
  if (!/^[+-]?\d+$/.test(s)) return numError('ParseInt', s, 'invalid syntax');
  // Past 19 significant digits it is out of range whatever they are: no BigInt of a megabyte.
  const significant = s.replace(/^[+-]?0*/, '');
  if (significant.length > INT64_DIGITS) return numError('ParseInt', s, 'value out of range');
  const v = BigInt(`${s.startsWith('-') ? '-' : ''}${significant === '' ? '0' : significant}`);
  if (v > INT64_MAX || v < INT64_MIN) return numError('ParseInt', s, 'value out of range');
  return { value: v };
};

/** strconv's `underscoreOK`: each `_` between digits, or between a base prefix and a digit. */
const underscoreOK = (s: string): boolean => {
  let saw = '^';
  let i = 0;
  const t = s.startsWith('-') || s.startsWith('+') ? s.slice(1) : s;
  let hex = false;
  if (t.length >= 2 && t[0] === '0' && 'box'.includes((t[1] ?? '').toLowerCase())) {
    i = 2;
    saw = '0';
    hex = (t[1] ?? '').toLowerCase() === 'x';
  }
  for (; i < t.length; i++) {
    const c = t[i] ?? '';
    if (isDigit(c) || (hex && /^[a-fA-F]$/.test(c))) saw = '0';
    else if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
    } else if (saw === '_') return false;
    else saw = '!';
  }
  return saw !== '_';
};

const BASE_PREFIXES: Record<string, bigint> = { b: 2n, o: 8n, x: 16n };

/**
 * Go's `strconv.ParseInt(s, 0, 64)`, as mapstructure reads an int from a string: an optional
 * sign, then `0x`, `0o`, `0b` or a bare `0` (octal: `010` is 8, `08` is refused), `_` allowed
 * between digits; errors as Go words them.
 */
export const goParseInt = (s: string): Parsed<bigint> => {
  // Made when needed: each quotes the input.
  const syntax = () => numError('ParseInt', s, 'invalid syntax');
  const range = () => numError('ParseInt', s, 'value out of range');
  const neg = s.startsWith('-');
  const u = neg || s.startsWith('+') ? s.slice(1) : s;
  if (u === '') return syntax();
  let base = 10n;
  let digits = u;
  if (u[0] === '0') {
    const prefixed = u.length >= 3 ? BASE_PREFIXES[(u[1] ?? '').toLowerCase()] : undefined;
    base = prefixed ?? 8n;
    digits = u.slice(prefixed === undefined ? 1 : 2);
  }
  let n = 0n;
  let underscores = false;
  for (const c of digits) {
    if (c === '_') {
      underscores = true;
      continue;
    }
    // Leading zeros change nothing (a megabyte of them cost 88 ms of BigInt arithmetic).
    if (c === '0' && n === 0n) continue;
    const d = /^[0-9a-zA-Z]$/.test(c) ? BigInt(parseInt(c, 36)) : base;
    if (d >= base) return syntax();
    n = n * base + d;
    // ParseUint stops at the first digit past 2^64 - 1, before any later syntax error.
    if (n > UINT64_MAX) return range();
  }
  if (underscores && !underscoreOK(u)) return syntax();
  if (neg ? n > 1n << 63n : n > INT64_MAX) return range();
  return { value: neg ? -n : n };
};

/** Go's `strconv.ParseBool`, with its error. */
export const goParseBoolStrict = (s: string): Parsed<boolean> => {
  const b = parseGoBool(s);
  return b === undefined ? numError('ParseBool', s, 'invalid syntax') : { value: b };
};

/**
 * Go's `time.ParseDuration` (`[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`), in nanoseconds, with its
 * overflow checks and its errors (`time: invalid duration "…"`, `time: missing unit in duration
 * "…"`, `time: unknown unit "…" in duration "…"`).
 */
export const goParseDuration = (orig: string): Parsed<bigint> => {
  // Made when needed: it quotes the input.
  const invalid = () => ({ error: `time: invalid duration ${timeQuote(orig)}` });
  // Go reads any length; no client sends a duration of more than a few dozen characters, and
  // half a million terms (`1s1s…`) cost 120 ms. Past this it is refused as Go refuses a bad one.
  if (orig.length > MAX_DURATION_CHARS) return invalid();
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { value: 0n };
  if (s === '') return invalid();
  let d = 0n;
  const limit = 1n << 63n;
  for (const term of durationTerms(s)) {
    if (term === undefined) return invalid();
    // The integer part, refused once it passes 2^63.
    let v = 0n;
    for (const c of term.whole) {
      if (v > limit / 10n) return invalid();
      v = v * 10n + BigInt(c.charCodeAt(0) - 48);
      if (v > limit) return invalid();
    }
    // The fraction: digits past what fits are ignored.
    let f = 0n;
    let scale = 1;
    for (const c of term.fraction ?? '') {
      const y = f * 10n + BigInt(c.charCodeAt(0) - 48);
      if (f > (limit - 1n) / 10n || y > limit) break;
      f = y;
      scale *= 10;
    }
    if (term.unit === '') return { error: `time: missing unit in duration ${timeQuote(orig)}` };
    const unit = UNIT_NS[term.unit];
    if (unit === undefined) {
      // The unit is part of the input: shown only when the input may be.
      const shownUnit = secretLike(orig) ? '***' : term.unit;
      return { error: `time: unknown unit ${timeQuote(shownUnit)} in duration ${timeQuote(orig)}` };
    }
    if (v > limit / unit) return invalid();
    v *= unit;
    if (f > 0n) {
      // As Go: float64, nanosecond-accurate for fractions of an hour.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > limit) return invalid();
    }
    d += v;
    if (d > limit) return invalid();
  }
  if (neg) return { value: -d };
  if (d > INT64_MAX) return invalid();
  return { value: d };
};

/**
 * go-secure-stdlib's `parseutil.ParseDurationSecond` of a JSON value (numbers as Go's
 * `json.Number`: their text), in nanoseconds: `""` is 0; an integer is seconds; `<n>d` is days;
 * else `time.ParseDuration`. Go's int64 products wrap around, and so do these.
 */
export const parseDurationSecond = (raw: unknown): Parsed<bigint> => {
  const text =
    typeof raw === 'string' ? raw : typeof raw === 'number' || isExactNumber(raw) ? String(raw) : undefined;
  if (text === undefined) return { error: 'could not parse duration from input' };
  if (text === '') return { value: 0n };
  const whole = parseInt64(text);
  if ('value' in whole) return { value: wrap(whole.value * NS_PER_S) };
  if (text.endsWith('d')) {
    const days = parseInt64(text.slice(0, -1));
    if ('error' in days) return days;
    return { value: wrap(wrap(days.value * 24n) * 3600n * NS_PER_S) };
  }
  return goParseDuration(text);
};

/** Go's `int(d.Seconds())`: float64 seconds, truncated toward zero. */
const wholeSeconds = (ns: bigint): number => {
  const sec = ns / NS_PER_S;
  const nsec = ns % NS_PER_S;
  return Math.trunc(Number(sec) + Number(nsec) / 1e9);
};

/**
 * A `TypeDurationSecond` field as the framework converts it: whole seconds, or the reason the
 * conversion failed (a negative value is refused: `cannot provide negative value '<n>'`, unless
 * `signed`: a `TypeSignedDurationSecond`). Absent (`undefined`) and `null` are 0.
 */
export const durationSecondField = (raw: unknown, { signed = false } = {}): Parsed<number> => {
  if (raw === undefined || raw === null) return { value: 0 };
  const parsed = parseDurationSecond(raw);
  if ('error' in parsed) return parsed;
  const seconds = wholeSeconds(parsed.value);
  if (seconds < 0 && !signed) return { error: `cannot provide negative value '${seconds}'` };
  return { value: seconds === 0 ? 0 : seconds };
};

/** How deep a message prints a value; deeper levels are `…` (a body may nest thousands deep). */
const GO_VALUE_MAX_DEPTH = 8;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isExactNumber(v);

/**
 * A JSON value as Go's `%v` prints it (`[a 1]`, `map[k:v]`, keys sorted), for messages about
 * fields that are not secret; bounded in depth and length, and a string (or key) that may be a
 * secret sent in the wrong field, however deep, shown as `***`.
 */
export const goValue = (v: unknown): string => {
  const print = (x: unknown, depth: number): string => {
    if (x === null || x === undefined) return '<nil>';
    if (Array.isArray(x))
      return depth >= GO_VALUE_MAX_DEPTH ? '[…]' : `[${x.map((e) => print(e, depth + 1)).join(' ')}]`;
    if (isPlainObject(x)) {
      if (depth >= GO_VALUE_MAX_DEPTH) return 'map[…]';
      const parts = Object.keys(x)
        .sort()
        .map((k) => `${shown(k)}:${print(x[k], depth + 1)}`);
      return `map[${parts.join(' ')}]`;
    }
    return typeof x === 'string' ? shown(x) : String(x);
  };
  const text = print(v, 0);
  return text.length > GO_VALUE_MAX_CHARS ? `${cutAt(text, GO_VALUE_MAX_CHARS)}…` : text;
};

/**
 * The 400 message of Vault's framework when a request field fails its conversion
 * (sdk/framework/backend.go, field_data.go `Validate`).
 */
export const fieldValidationMessage = (field: string, raw: unknown, reason: string): string =>
  `Field validation failed: error converting input ${goValue(raw)} for field "${field}": ${reason}`;
