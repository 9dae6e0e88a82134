import { describe, expect, it } from 'vitest';
import { ExactNumber } from './exact-json.js';
import { durationSecondField, goParseDuration, goParseInt, goValue } from './go-duration.js';

describe('goParseDuration (Go time.ParseDuration)', () => {
  it.each([
    ['1h30m', 5_400_000_000_000n],
    ['+5s', 5_000_000_000n],
    ['-0', 0n],
    ['.5m', 30_000_000_000n],
    ['1.5µs', 1_500n],
    ['2562047h47m16.854775807s', 9_223_372_036_854_775_807n],
  ])('reads %s', (text, ns) => {
    expect(goParseDuration(text)).toEqual({ value: ns });
  });

  it.each([
    ['', 'time: invalid duration ""'],
    ['-', 'time: invalid duration "-"'],
    ['.s', 'time: invalid duration ".s"'],
    ['3', 'time: missing unit in duration "3"'],
    ['3d', 'time: unknown unit "d" in duration "3d"'],
    ['2562047h47m16.854775808s', 'time: invalid duration "2562047h47m16.854775808s"'],
    ['1\u00e9', 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'],
    ['1"x', 'time: unknown unit "\\"x" in duration "1\\"x"'],
    ['1constructor', 'time: unknown unit "constructor" in duration "1constructor"'],
    ['1h2__proto__', 'time: unknown unit "__proto__" in duration "1h2__proto__"'],
  ])('refuses %j as Go does', (text, error) => {
    expect(goParseDuration(text)).toEqual({ error });
  });
});

describe('durationSecondField (a TypeDurationSecond field)', () => {
  it.each([
    [undefined, 0],
    [null, 0],
    ['', 0],
    [90, 90],
    ['90', 90],
    ['2d', 172_800],
    ['1500ms', 1],
    ['-999ms', 0],
    // Go's int64 product wraps around: 2·10^10 s is 2·10^19 ns, which wraps to 1553255926 s.
    ['20000000000', 1_553_255_926],
  ])('reads %j as %d seconds', (raw, seconds) => {
    expect(durationSecondField(raw)).toEqual({ value: seconds });
  });

  it.each([
    [-1, "cannot provide negative value '-1'"],
    // 10^19 ns wraps to a negative duration.
    ['10000000000', "cannot provide negative value '-8446744073'"],
    [new ExactNumber('1e3'), 'time: unknown unit "e" in duration "1e3"'],
    ['x1d', 'strconv.ParseInt: parsing "x1": invalid syntax'],
    ['99999999999999999999d', 'strconv.ParseInt: parsing "99999999999999999999": value out of range'],
    [false, 'could not parse duration from input'],
  ])('refuses %j', (raw, error) => {
    expect(durationSecondField(raw)).toEqual({ error });
  });
});

describe('goValue (Go %v)', () => {
  it('prints lists, maps (keys sorted) and numbers as written', () => {
    expect(goValue([1, 'a', { b: true, a: null }, new ExactNumber('1.10')])).toBe(
      '[1 a map[a:<nil> b:true] 1.10]',
    );
  });
});

describe('goParseInt (strconv.ParseInt(s, 0, 64))', () => {
  const syntax = (s: string) => ({ error: `strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax` });
  const range = (s: string) => ({
    error: `strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`,
  });
  it.each([
    ['0', 0n],
    ['-12', -12n],
    ['+7', 7n],
    ['0x1F', 31n],
    ['0X1f', 31n],
    ['010', 8n],
    ['0o17', 15n],
    ['0b101', 5n],
    ['1_000', 1000n],
    ['0x_1f', 31n],
    ['9223372036854775807', 9223372036854775807n],
    ['-9223372036854775808', -9223372036854775808n],
  ])('reads %s', (s, value) => {
    expect(goParseInt(s)).toEqual({ value });
  });
  it.each(['', '-', '08', '0x', '1.0', '1e3', ' 1', '1_', '_1', '1__0', '0b2', '١'])('refuses %j', (s) => {
    expect(goParseInt(s)).toEqual(syntax(s));
  });
  it.each(['9223372036854775808', '-9223372036854775809', '99999999999999999999x'])(
    'refuses %s as out of range',
    (s) => {
      expect(goParseInt(s)).toEqual(range(s));
    },
  );
});

describe('what the Go mirrors show and spend on a hostile input', () => {
  it('shows no part of a secret-like input, not even its unit', () => {
    expect(goParseDuration('5hvsCAESIsecret1tok')).toEqual({
      error: 'time: unknown unit "***" in duration "***"',
    });
  });

  it('never cuts a printed value inside a character (a lone surrogate)', () => {
    const text = goValue(Array.from({ length: 150 }, () => '😀'));
    expect(text.endsWith('…')).toBe(true);
    expect(/[\ud800-\udbff]…$/.test(text)).toBe(false);
  });

  it('reads a megabyte of leading zeros as Go does, without arithmetic on each', () => {
    expect(goParseInt(`${'0'.repeat(1_000_000)}7`)).toEqual({ value: 7n });
    expect(goParseInt(`${'0'.repeat(1_000_000)}8`)).toEqual({
      error: `strconv.ParseInt: parsing "${'0'.repeat(200)}…": invalid syntax`,
    });
  });

  it('refuses a duration of thousands of terms as an invalid one', () => {
    expect(goParseDuration('1s'.repeat(3000))).toEqual({
      error: `time: invalid duration "${'1s'.repeat(100)}…"`,
    });
    expect(goParseDuration('1s'.repeat(2000))).toEqual({ value: 2000n * 1_000_000_000n });
  });
});
