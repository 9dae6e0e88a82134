import { describe, expect, it } from 'vitest';
import { goJson, goQuoteList, rfc3339 } from './go-format.js';

describe('goJson', () => {
  it('sorts keys at every depth and writes compact JSON', () => {
    expect(
      goJson({
        sub: 's',
        aud: ['a'],
        'kubernetes.io': { pod: { uid: 'u', name: 'n' }, namespace: 'ns' },
        exp: 1,
      }),
    ).toBe('{"aud":["a"],"exp":1,"kubernetes.io":{"namespace":"ns","pod":{"name":"n","uid":"u"}},"sub":"s"}');
  });

  it('escapes like encoding/json, HTML-safe', () => {
    expect(goJson('a<b>&"\\\n\t\b\u2028')).toBe('"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\t\\u0008\\u2028"');
  });

  it('refuses non-integer numbers', () => {
    expect(() => goJson(1.5)).toThrow(TypeError);
  });
});

describe('goQuoteList', () => {
  it('prints a []string as fmt %q does', () => {
    expect(goQuoteList(['vault'])).toBe('["vault"]');
    expect(goQuoteList(['a', 'b"c'])).toBe('["a" "b\\"c"]');
    expect(goQuoteList([])).toBe('[]');
  });
});

describe('rfc3339', () => {
  it('truncates to whole seconds', () => {
    expect(rfc3339(Date.UTC(2024, 4, 1, 10, 0, 0, 999))).toBe('2024-05-01T10:00:00Z');
  });
});
