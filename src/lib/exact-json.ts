import { isNumber, parse, stringify } from 'lossless-json';

/**
 * JSON whose numbers keep the text they were written with. JSON.parse reads every number into a
 * float64, so `12345678901234567890`, `1.10`, `9007199254740993` and `1e5` come back altered;
 * Vault (Go's `json.Decoder.UseNumber`) returns them as written. Here a number whose text does
 * not survive that trip (`String(Number(text)) !== text`) is kept as an {@link ExactNumber}; every
 * other number stays a plain `number`, so values without such numbers are exactly what JSON.parse
 * gives. The lossless parse and stringify are lossless-json's.
 */

/**
 * A JSON number kept as the text it was written with (a leaf, never an object to walk into).
 * `toJSON()` is `Number(text)`, so a path that still uses JSON.stringify writes what it wrote
 * before exact numbers existed (`1.1`, not `{"text":"1.10"}`).
 *
 * @throws TypeError when `text` is not a JSON number (caller misuse).
 */
export class ExactNumber {
  /** The number's JSON text, as written (`1.10`, `-0`, `1e5`). */
  readonly text: string;

  constructor(text: string) {
    if (!isNumber(text)) throw new TypeError('ExactNumber: not a JSON number');
    this.text = text;
  }

  /** The nearest float64 (what JSON.parse would have read; ±Infinity beyond its range). */
  valueOf(): number {
    return Number(this.text);
  }

  /** The number's text, as written. */
  toString(): string {
    return this.text;
  }

  /** What JSON.stringify writes: the nearest float64, i.e. the behaviour before exact numbers. */
  toJSON(): number {
    return Number(this.text);
  }
}

/** Whether `v` is an {@link ExactNumber}. */
export const isExactNumber = (v: unknown): v is ExactNumber => v instanceof ExactNumber;

/** A number's text as a plain number when it survives the trip, else an {@link ExactNumber}. */
const readNumber = (text: string): number | ExactNumber => {
  const n = Number(text);
  return String(n) === text ? n : new ExactNumber(text);
};

/**
 * Parses JSON text as JSON.parse does (same grammar; a repeated key keeps its last value;
 * `__proto__` is an ordinary own key), except that a number whose text does not round-trip
 * through a float64 becomes an {@link ExactNumber}.
 *
 * The parser recurses: a text nested some thousands of levels deep throws a `RangeError`
 * (JSON.parse would take it). Callers that take untrusted text answer that as bad input.
 *
 * @throws SyntaxError when `text` is not JSON; RangeError when it nests too deep to parse.
 */
export const parseExactJson = (text: string): unknown =>
  parse(text, null, {
    parseNumber: readNumber,
    onDuplicateKey: ({ newValue }) => newValue,
  });

const exactStringifier = [{ test: isExactNumber, stringify: (v: unknown) => (v as ExactNumber).text }];

/**
 * JSON text of `value` as JSON.stringify writes it (no spacing, `toJSON` honoured, undefined
 * members left out), except that an {@link ExactNumber} is written as its own text. Recursive, as
 * JSON.stringify is: callers bound the depth of what they write.
 */
export const stringifyExactJson = (value: unknown): string => {
  const text = stringify(value, undefined, undefined, exactStringifier);
  // Only a top-level undefined, function or symbol has no JSON (JSON.stringify gives undefined).
  if (text === undefined) throw new TypeError('stringifyExactJson: value has no JSON representation');
  return text;
};

/** How deep {@link containsExactNumber} recurses before it walks the rest with a stack of its own. */
const RECURSION_DEPTH = 256;

/**
 * Whether `value` holds an {@link ExactNumber} anywhere in its objects and arrays; stops at the
 * first one found. Recursive for the first levels (several times faster than a stack of its own
 * for the few-level objects secrets are), then iterative, so any depth is safe to check.
 */
export const containsExactNumber = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && (isExactNumber(value) || holdsExact(value, 0));

/** Whether a child of `container` (or any of theirs) is an ExactNumber. */
const holdsExact = (container: object, depth: number): boolean => {
  if (depth >= RECURSION_DEPTH) return holdsExactIteratively(container);
  if (Array.isArray(container)) {
    for (const child of container as unknown[]) if (childHoldsExact(child, depth)) return true;
    return false;
  }
  // for…in without an own-property check (it costs more than the walk): every own key is
  // visited, so an ExactNumber is never missed; an enumerable key inherited from a tampered
  // Object.prototype could at worst make this say true, which only picks the exact format.
  for (const key in container) {
    if (childHoldsExact((container as Record<string, unknown>)[key], depth)) return true;
  }
  return false;
};

const childHoldsExact = (child: unknown, depth: number): boolean =>
  typeof child === 'object' && child !== null && (isExactNumber(child) || holdsExact(child, depth + 1));

const holdsExactIteratively = (container: object): boolean => {
  const stack: object[] = [container];
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    for (const child of Array.isArray(v) ? (v as unknown[]) : Object.values(v)) {
      if (typeof child !== 'object' || child === null) continue;
      if (isExactNumber(child)) return true;
      stack.push(child);
    }
  }
  return false;
};
