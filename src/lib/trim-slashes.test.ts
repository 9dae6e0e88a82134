import { describe, expect, it } from 'vitest';
import { trimTrailingSlashes } from './trim-slashes.js';

describe('trimTrailingSlashes', () => {
  it.each([
    ['', ''],
    ['/', ''],
    ['///', ''],
    ['a', 'a'],
    ['a/', 'a'],
    ['a/b//', 'a/b'],
    ['/a/b', '/a/b'],
    ['a//b', 'a//b'],
  ])('%j → %j', (input, expected) => {
    expect(trimTrailingSlashes(input)).toBe(expected);
  });

  it('agrees with the regular expression it replaces, on random strings of a, / and b', () => {
    for (let i = 0; i < 2000; i++) {
      const s = Array.from(
        { length: Math.floor(Math.random() * 12) },
        () => 'a/b/'[Math.floor(Math.random() * 4)],
      ).join('');
      expect(trimTrailingSlashes(s)).toBe(s.replace(/\/+$/, ''));
    }
  });

  it('takes a long run of slashes before a last segment in one pass', () => {
    // 2 000 000 slashes: the expression would take hours; a loop over them, milliseconds. The
    // test asserts the answer only: it finishes within the suite's timeout or fails there.
    const s = `${'/'.repeat(2_000_000)}x`;
    expect(trimTrailingSlashes(s)).toBe(s);
    expect(trimTrailingSlashes(`${s}///`)).toBe(s);
  });
});
