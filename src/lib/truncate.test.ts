import { describe, expect, it } from 'vitest';
import { truncate } from './truncate.js';

describe('truncate', () => {
  it('keeps a string within the bound unchanged', () => {
    expect(truncate('a'.repeat(128))).toBe('a'.repeat(128));
    expect(truncate('')).toBe('');
  });

  it('cuts a longer string to the bound and says how long it was', () => {
    expect(truncate('a'.repeat(10_000))).toBe(`${'a'.repeat(128)}…(10000 chars)`);
    expect(truncate('abcdef', 3)).toBe('abc…(6 chars)');
  });

  it('refuses a bound that is not a non-negative integer', () => {
    expect(() => truncate('x', -1)).toThrow(TypeError);
    expect(() => truncate('x', 1.5)).toThrow(TypeError);
  });
});
