import { describe, expect, it } from 'vitest';
import { jsonTooDeep } from './json-depth.js';

describe('jsonTooDeep', () => {
  it.each([
    ['arrays past the limit', `${'['.repeat(11)}${']'.repeat(11)}`, true],
    ['objects past the limit', `${'{"a":'.repeat(11)}1${'}'.repeat(11)}`, true],
    ['the limit itself', `${'['.repeat(10)}${']'.repeat(10)}`, false],
    ['many shallow collections side by side', `[${'[1],'.repeat(1000)}[]]`, false],
    ['brackets inside strings, escaped quotes included', `["${'['.repeat(50)}\\"${'{'.repeat(50)}"]`, false],
    ['a string that ends in an escaped backslash', `["\\\\", ${'['.repeat(11)}]`, true],
  ])('%s: %s', (_what, text, deep) => {
    expect(jsonTooDeep(text, 10)).toBe(deep);
  });
});
