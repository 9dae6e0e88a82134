import { describe, expect, it } from 'vitest';
import { containsJwtShape } from './jwt-shape.js';

describe('containsJwtShape', () => {
  const SHAPE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\./;

  it.each([
    'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    'role-eyJhbGc.eyJz.',
    'a b eyJ.x.',
    'xeyJ_-.A.',
    'eyJ..eyJ.x.',
    'eyJ.x',
    'eyJ..',
    'eyJ.x y.',
    'ey J.x.',
    'eyJ x.y.',
    'nginx',
    '',
    'a.eyJ.b',
    'eyJ.eyJ.',
    '.eyJ.x.',
  ])('agrees with the regular expression on %j', (value) => {
    expect(containsJwtShape(value)).toBe(SHAPE.test(value));
  });

  it('agrees with it on random strings of its alphabet', () => {
    const alphabet = ['eyJ', '.', 'a', '-', ' ', 'J', 'e'];
    for (let n = 0; n < 2000; n++) {
      const value = Array.from(
        { length: 1 + (n % 12) },
        () => alphabet[Math.floor(Math.random() * alphabet.length)],
      ).join('');
      expect(containsJwtShape(value), value).toBe(SHAPE.test(value));
    }
  });

  it('reads a long run of eyJ without a dot in linear time', () => {
    const started = performance.now();
    expect(containsJwtShape(`${'eyJ'.repeat(300_000)}.`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
