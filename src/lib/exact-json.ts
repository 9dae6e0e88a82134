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

/**
 * Whether `value` holds an {@link ExactNumber} anywhere in its objects and arrays. Iterative, so
 * any depth is safe to check; stops at the first one found.
 */
export const containsExactNumber = (value: unknown): boolean => {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (v instanceof ExactNumber) return true;
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else {
      for (const key in v) if (Object.hasOwn(v, key)) stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return false;
};
