import { describe, expect, it } from 'vitest';
import {
  containsExactNumber,
  ExactNumber,
  isExactNumber,
  parseExactJson,
  stringifyExactJson,
} from './exact-json.js';

const EXAMPLE = '{"n":12345678901234567890,"f":1.10,"m":9007199254740993,"e":1e5}';

describe('parseExactJson', () => {
  it('keeps every number that a float64 would alter as its text', () => {
    const v = parseExactJson(EXAMPLE) as Record<string, unknown>;
    for (const [k, text] of Object.entries({
      n: '12345678901234567890',
      f: '1.10',
      m: '9007199254740993',
      e: '1e5',
    })) {
      expect(isExactNumber(v[k])).toBe(true);
      expect((v[k] as ExactNumber).text).toBe(text);
    }
  });

  it.each(['-0', '1E5', '1e400', '0.10', '1.0', '-1.50', '123456789012345678901234567890.5'])(
    'keeps %s as written',
    (text) => {
      const v = parseExactJson(`[${text}]`) as unknown[];
      expect(v[0]).toEqual(new ExactNumber(text));
    },
  );

  it('reads a number that survives the trip as a plain number, as JSON.parse does', () => {
    const text = '{"a":1,"b":2.5,"c":-3,"d":0,"e":[1e+300,9007199254740991,0.1],"s":"1.10"}';
    expect(parseExactJson(text)).toStrictEqual(JSON.parse(text));
    expect(containsExactNumber(parseExactJson(text))).toBe(false);
  });

  it('reads everything else as JSON.parse does: nesting, strings, keywords, a repeated key', () => {
    const text = '{"a":{"b":[true,false,null,"x\\u00e9\\n"]},"k":1,"k":2,"o":{}}';
    expect(parseExactJson(text)).toStrictEqual(JSON.parse(text));
  });

  it('keeps __proto__ an ordinary own key, never a prototype', () => {
    const v = parseExactJson('{"__proto__":{"polluted":1.10}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each(['', '{', '{"a":}', '{"a":01}', '{"a":1.}', '[1,]', 'NaN', '{"a":+1}', '{"a":.5}', "{'a':1}"])(
    'refuses %j with a SyntaxError, as JSON.parse does',
    (text) => {
      expect(() => JSON.parse(text)).toThrow(SyntaxError);
      expect(() => parseExactJson(text)).toThrow(SyntaxError);
    },
  );

  it('throws a RangeError for text nested too deep to parse', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(() => parseExactJson(deep)).toThrow(RangeError);
  });
});

describe('stringifyExactJson', () => {
  it('writes exact numbers as their text, so a parse and a stringify give the text back', () => {
    expect(stringifyExactJson(parseExactJson(EXAMPLE))).toBe(EXAMPLE);
  });

  it('writes anything else as JSON.stringify does', () => {
    const value = {
      a: 1,
      b: [2.5, null, undefined, 'x"y'],
      c: undefined,
      d: new Date(0),
      e: { toJSON: () => 'custom' },
      f: -0,
    };
    expect(stringifyExactJson(value)).toBe(JSON.stringify(value));
  });

  it('refuses a value that has no JSON text', () => {
    expect(() => stringifyExactJson(undefined)).toThrow(TypeError);
  });
});

describe('ExactNumber', () => {
  it('degrades to the nearest float64 under JSON.stringify, never to an object', () => {
    const v = parseExactJson(EXAMPLE);
    expect(JSON.stringify(v)).toBe(JSON.stringify(JSON.parse(EXAMPLE)));
    expect(JSON.stringify(v)).not.toContain('text');
  });

  it('reads as its number and prints as its text', () => {
    const n = new ExactNumber('1.10');
    expect(+n).toBe(1.1);
    expect(`${n}`).toBe('1.10');
  });

  it('refuses text that is not a JSON number', () => {
    for (const bad of ['', 'abc', '01', '1.', 'NaN', 'Infinity', ' 1']) {
      expect(() => new ExactNumber(bad)).toThrow(TypeError);
    }
  });
});

describe('containsExactNumber', () => {
  it('finds an exact number at any depth, in objects and arrays', () => {
    let deep: unknown = new ExactNumber('1.10');
    for (let i = 0; i < 50_000; i++) deep = i % 2 === 0 ? [deep] : { k: deep };
    expect(containsExactNumber(deep)).toBe(true);
    let plain: unknown = 1.5;
    for (let i = 0; i < 50_000; i++) plain = i % 2 === 0 ? [plain, 'x'] : { k: plain, n: 2 };
    expect(containsExactNumber(plain)).toBe(false);
    expect(containsExactNumber({ a: [1, { b: 'x' }], c: null })).toBe(false);
    expect(containsExactNumber(new ExactNumber('1e5'))).toBe(true);
    expect(containsExactNumber(5)).toBe(false);
  });
});
