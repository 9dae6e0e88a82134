import { describe, expect, it } from 'vitest';
import { isAuthgateError } from '../../errors.js';
import { ExactNumber, parseExactJson } from '../../lib/exact-json.js';
import { mergePatch, subkeysOf } from './json.js';
import { formatTime } from './metadata.js';
import {
  MAX_DATA_DEPTH,
  parseConfigBody,
  parseMetadataBody,
  parseMetadataPatch,
  parseDataQuery,
  parseVersions,
  parseWriteBody,
  validateCustomMetadata,
} from './params.js';

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (isAuthgateError(err)) return `${err.status} ${err.message}`;
    throw err;
  }
  throw new Error('expected a 400');
};

describe('parseWriteBody', () => {
  it.each([
    [{ data: { a: 1 } }, { data: { a: 1 }, cas: undefined }],
    [
      { data: { a: 1 }, options: {} },
      { data: { a: 1 }, cas: undefined },
    ],
    [
      { data: {}, options: { cas: 0 } },
      { data: {}, cas: 0 },
    ],
    [
      { data: {}, options: { cas: '3' } },
      { data: {}, cas: 3 },
    ],
    [
      { data: {}, options: { cas: null } },
      { data: {}, cas: 0 },
    ],
    [
      { data: {}, options: { cas: 1.5 } },
      { data: {}, cas: null },
    ],
    [
      { data: {}, options: { cas: 'x' } },
      { data: {}, cas: null },
    ],
    [{ data: null }, { data: {}, cas: undefined }],
    [{ data: [] }, { data: {}, cas: undefined }],
  ])('reads %j as Vault does', (body, expected) => {
    expect(parseWriteBody(body)).toEqual(expected);
  });

  it('requires data, as an object, without quoting it', () => {
    expect(message(() => parseWriteBody({}))).toBe('400 no data provided');
    expect(message(() => parseWriteBody({ data: 'hunter2' }))).toBe(
      `400 Field validation failed: error converting input for field "data": '' expected a map, got 'string'`,
    );
    expect(message(() => parseWriteBody({ data: [1] }))).not.toContain('1 ');
    expect(message(() => parseWriteBody([]))).toBe('400 error parsing JSON');
    expect(message(() => parseWriteBody({ data: {}, options: 'x' }))).toBe(
      `400 Field validation failed: error converting input x for field "options": '' expected a map, got 'string'`,
    );
  });

  it('takes data nested up to MAX_DATA_DEPTH levels and refuses deeper data with a 400, at any depth', () => {
    const nested = (levels: number, leaf: unknown = 'v'): unknown => {
      let v: unknown = leaf;
      for (let i = 1; i < levels; i++) v = i % 2 === 0 ? [v] : { k: v };
      return v;
    };
    const ok = { k: nested(MAX_DATA_DEPTH) };
    expect(parseWriteBody({ data: ok }).data).toEqual(ok);
    const tooDeep = `400 error converting input for field "data": nested deeper than ${MAX_DATA_DEPTH} levels`;
    expect(message(() => parseWriteBody({ data: { k: nested(MAX_DATA_DEPTH + 1) } }))).toBe(tooDeep);
    // Deeper than the stack could recurse: still a 400.
    const deep = JSON.parse(`{"data":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`) as unknown;
    expect(message(() => parseWriteBody(deep))).toBe(tooDeep);
  });

  it('counts a number kept as its text as a leaf, not a level, and names its kind as Go’s (string)', () => {
    const nested = (levels: number): unknown => {
      let v: unknown = new ExactNumber('1.10');
      for (let i = 1; i < levels; i++) v = { k: v };
      return v;
    };
    const ok = { k: nested(MAX_DATA_DEPTH - 1) };
    expect(parseWriteBody({ data: ok }).data).toBe(ok);
    expect(message(() => parseWriteBody({ data: new ExactNumber('1.10') }))).toBe(
      `400 Field validation failed: error converting input for field "data": '' expected a map, got 'string'`,
    );
  });

  it('reads a cas as its text, as Vault does: 1.0 is no integer', () => {
    const body = parseExactJson('{"data":{},"options":{"cas":1.0}}');
    expect(parseWriteBody(body)).toEqual({ data: {}, cas: null });
    expect(parseWriteBody({ data: {}, options: [{ cas: '0x10' }] })).toEqual({ data: {}, cas: 16 });
    expect(parseWriteBody(parseExactJson('{"data":{},"options":{"cas":1e400}}')).cas).toBeNull();
  });
});

describe('parseVersions', () => {
  it.each([
    [{ versions: [1, 2] }, [1, 2]],
    [{ versions: ['1', 2, 2] }, [1, 2]],
    [{ versions: '1,3' }, [1, 3]],
    [{ versions: 4 }, [4]],
    [{}, []],
    [{ versions: null }, []],
    [{ versions: [] }, []],
  ])('reads %j', (body, expected) => {
    expect(parseVersions(body)).toEqual(expected);
  });

  it('refuses what is not a list of integers', () => {
    expect(message(() => parseVersions({ versions: ['a'] }))).toMatch(
      /^400 Field validation failed: error converting input \[a\] for field "versions"/,
    );
    expect(message(() => parseVersions({ versions: { a: 1 } }))).toMatch(/^400 Field validation failed: /);
  });
});

describe('parseDataQuery', () => {
  it('reads ?version=, 0 when absent, 400 when not an integer', () => {
    expect(parseDataQuery({ version: '3' })).toBe(3);
    expect(parseDataQuery({})).toBe(0);
    expect(parseDataQuery({ version: '0x10' })).toBe(16);
    // Given twice, Vault's parseQuery hands the field a list, which an int field refuses.
    expect(message(() => parseDataQuery({ version: ['2', '5'] }))).toBe(
      `400 Field validation failed: error converting input [2 5] for field "version": '' expected type 'int', got unconvertible type '[]string', value: '[2 5]'`,
    );
    expect(message(() => parseDataQuery({ version: 'two' }))).toBe(
      `400 Field validation failed: error converting input two for field "version": cannot parse '' as int: strconv.ParseInt: parsing "two": invalid syntax`,
    );
  });
});

describe('custom_metadata', () => {
  it('accepts 64 keys, refuses 65 with Vault’s message', () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    expect(() => validateCustomMetadata(many(64))).not.toThrow();
    expect(message(() => validateCustomMetadata(many(65)))).toBe(
      '400 1 error occurred:\n\t* custom_metadata validation failed: payload must contain at most 64 keys, provided 65\n\n',
    );
  });

  it('reports every bad key and value: length in bytes, printable characters', () => {
    expect(
      message(() => validateCustomMetadata({ ['k'.repeat(129)]: 'v', ok: '', 'tab\tkey': 'x'.repeat(513) })),
    ).toBe(
      '400 4 errors occurred:\n' +
        `\t* custom_metadata validation failed: length of key "${'k'.repeat(129)}" is 129 but must be 0 < len(key) <= 128\n` +
        '\t* custom_metadata validation failed: length of value for key "ok" is 0 but must be 0 < len(value) <= 512\n' +
        '\t* custom_metadata validation failed: length of value for key "tab\\tkey" is 513 but must be 0 < len(value) <= 512\n' +
        '\t* custom_metadata validation failed: key "tab\\tkey" (tab\tkey) contains unprintable characters\n\n',
    );
    expect(() => validateCustomMetadata({ ['é'.repeat(64)]: 'ü' })).not.toThrow();
    expect(() => validateCustomMetadata({ ['é'.repeat(65)]: 'ü' })).toThrow();
  });

  it('decodes values weakly on write; keeps nulls on patch to remove keys', () => {
    expect(parseMetadataBody({ custom_metadata: { n: 5, b: true, s: 'x' } }).customMetadata).toEqual({
      n: '5',
      b: '1',
      s: 'x',
    });
    expect(parseMetadataPatch({ custom_metadata: { gone: null, s: 'x' } }).customMetadata).toEqual({
      gone: null,
      s: 'x',
    });
    expect(message(() => parseMetadataBody({ custom_metadata: { o: { nested: 1 } } }))).toBe(
      `400 custom_metadata validation failed: '' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[nested:1]'`,
    );
  });
});

describe('metadata and config fields', () => {
  it('answers a deeply nested or huge non-secret field with a bounded 400, never a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = [deep];
    const calls = [
      () => parseMetadataBody({ max_versions: deep }),
      () => parseMetadataBody({ cas_required: deep }),
      () => parseMetadataBody({ delete_version_after: deep }),
      () => parseVersions(deep),
    ];
    for (const call of calls) {
      let caught: unknown;
      try {
        call();
      } catch (err) {
        caught = err;
      }
      expect(isAuthgateError(caught) && caught.status === 400).toBe(true);
      expect((caught as Error).message.length).toBeLessThan(400);
    }
  });

  it('reads only the fields present, weakly typed', () => {
    expect(parseMetadataBody({})).toEqual({});
    expect(
      parseMetadataBody({ max_versions: '5', cas_required: 'true', delete_version_after: '1h30m' }),
    ).toEqual({
      maxVersions: 5,
      casRequired: true,
      deleteVersionAfterSeconds: 5400,
    });
    expect(parseMetadataBody({ delete_version_after: 90, other: 1 })).toEqual({
      deleteVersionAfterSeconds: 90,
    });
    // Null is the zero value to Vault's framework, but no duration at all.
    expect(
      parseMetadataPatch({ max_versions: null, cas_required: null, delete_version_after: null }),
    ).toEqual({
      maxVersions: 0,
      casRequired: false,
    });
  });

  it('refuses a negative delete_version_after on a secret, accepts it on the mount (disable)', () => {
    expect(message(() => parseMetadataBody({ delete_version_after: '-1s' }))).toBe(
      `400 Field validation failed: error converting input -1s for field "delete_version_after": cannot provide negative value '-1'`,
    );
    expect(parseConfigBody({ delete_version_after: '-1s' })).toEqual({ deleteVersionAfterSeconds: -1 });
    // Any negative is Vault's one disabled value, -1 s.
    expect(parseConfigBody({ delete_version_after: -5 })).toEqual({ deleteVersionAfterSeconds: -1 });
  });

  it('takes delete_version_after up to the longest Go duration and refuses longer, as Vault', () => {
    // 2^63 - 1 ns: 2562047h47m16s in whole seconds.
    expect(parseMetadataBody({ delete_version_after: '2562047h47m16s' })).toEqual({
      deleteVersionAfterSeconds: 9_223_372_036,
    });
    expect(parseConfigBody({ delete_version_after: '-2562047h47m16s' })).toEqual({
      deleteVersionAfterSeconds: -1,
    });
    for (const raw of ['2562048h', '-2562048h']) {
      expect(message(() => parseConfigBody({ delete_version_after: raw }))).toBe(
        `400 Field validation failed: error converting input ${raw} for field "delete_version_after": time: invalid duration "${raw}"`,
      );
    }
    // A number of seconds is multiplied in Go's int64 nanoseconds, which wrap around.
    expect(parseMetadataPatch({ delete_version_after: 9_007_199_254_740_991 })).toEqual({
      deleteVersionAfterSeconds: 4_611_686_017,
    });
    expect(message(() => parseMetadataPatch({ delete_version_after: 1e10 }))).toMatch(
      /cannot provide negative value '-8446744073'$/,
    );
  });

  it('refuses malformed values with 400', () => {
    expect(message(() => parseMetadataBody({ max_versions: 'many' }))).toMatch(
      /^400 Field validation failed: error converting input many/,
    );
    expect(parseMetadataBody({ max_versions: -1 })).toEqual({ maxVersions: 4_294_967_295 });
    expect(message(() => parseMetadataBody({ cas_required: 'maybe' }))).toMatch(
      /^400 Field validation failed: error converting input maybe/,
    );
    expect(message(() => parseConfigBody({ delete_version_after: 'soon' }))).toMatch(
      /^400 Field validation failed: error converting input soon/,
    );
  });
});

describe('mergePatch (RFC 7396)', () => {
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('patches %j with %j', (target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });

  it('treats __proto__ as a plain key', () => {
    const out = mergePatch({}, JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('numbers kept as their text', () => {
  const exact = parseExactJson('{"n":12345678901234567890,"o":{"f":1.10,"k":"v"}}') as Record<
    string,
    unknown
  >;

  it('are leaves to a merge patch: replaced whole, never merged into', () => {
    const patched = mergePatch(exact, parseExactJson('{"n":{"x":1e5},"o":{"f":2.50}}')) as Record<
      string,
      unknown
    >;
    expect(patched).toStrictEqual({
      n: { x: new ExactNumber('1e5') },
      o: { f: new ExactNumber('2.50'), k: 'v' },
    });
    expect(mergePatch(exact, { n: new ExactNumber('1.0') })).toMatchObject({ n: new ExactNumber('1.0') });
    expect(mergePatch({ n: { x: 1 } }, { n: new ExactNumber('1.0') })).toStrictEqual({
      n: new ExactNumber('1.0'),
    });
  });

  it('are leaves to subkeys', () => {
    expect(subkeysOf(exact, 0)).toStrictEqual({ n: null, o: { f: null, k: null } });
  });
});

describe('subkeysOf and formatTime', () => {
  it('never copies a value', () => {
    expect(subkeysOf({ a: 'secret', b: [1], c: { d: 'secret' } }, 0)).toEqual({
      a: null,
      b: null,
      c: { d: null },
    });
  });

  it('prints times as Go’s RFC3339Nano', () => {
    expect(formatTime(Date.UTC(2026, 0, 1))).toBe('2026-01-01T00:00:00Z');
    expect(formatTime(Date.UTC(2026, 0, 1) + 120)).toBe('2026-01-01T00:00:00.12Z');
    expect(formatTime(null)).toBe('');
  });
});
