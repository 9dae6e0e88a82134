import { describe, expect, it } from 'vitest';
import { goTrimSpace, isGoSpace, withoutGoSpace } from './go-space.js';

// unicode.IsSpace's set, as Go's unicode package lists it.
const GO_SPACES =
  '\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

describe('isGoSpace', () => {
  it('is true for exactly the characters Go calls space', () => {
    const go = new Set([...GO_SPACES].map((c) => c.charCodeAt(0)));
    for (let c = 0; c <= 0xffff; c++) expect(isGoSpace(c), c.toString(16)).toBe(go.has(c));
  });
});

describe('goTrimSpace', () => {
  it('trims both ends only', () => {
    expect(goTrimSpace('\u3000 a \u0085b\n\u00a0')).toBe('a \u0085b');
    expect(goTrimSpace('\ufeffa')).toBe('\ufeffa');
    expect(goTrimSpace(GO_SPACES)).toBe('');
  });

  it('is linear in a long inner run of spaces', () => {
    const s = `a${' '.repeat(200_000)}b`;
    expect(goTrimSpace(s)).toBe(s);
  });
});

describe('withoutGoSpace', () => {
  it('drops every space, and returns the string itself when it has none', () => {
    expect(withoutGoSpace('a.b\n.c \r\n')).toBe('a.b.c');
    const clean = 'eyJ.eyJ.sig';
    expect(withoutGoSpace(clean)).toBe(clean);
  });
});
