import { describe, expect, it } from 'vitest';
import { formatDuration, parseDurationSeconds } from './duration.js';

describe('parseDurationSeconds', () => {
  it.each([
    [0, 0],
    [90, 90],
    ['90', 90],
    ['1h', 3600],
    ['1h30m', 5400],
    ['768h', 2764800],
    ['1.5h', 5400],
    ['2d', 172800],
    ['.5h', 1800],
    ['1.h', 3600],
    ['1500μs', 0],
    ['90s', 90],
    ['500ms', 0],
    ['', 0],
  ])('parses %j as %d seconds', (input, expected) => {
    expect(parseDurationSeconds(input)).toBe(expected);
  });

  it.each([
    '1x',
    'h',
    '-5',
    '+5s',
    '1h 30m',
    'abc',
    '1h-',
    '.h',
    '1..5h',
    '1d12h',
    '12h1d',
    '1.5d',
    'd',
    '1constructor',
  ])('refuses %j', (input) => {
    expect(() => parseDurationSeconds(input)).toThrow(TypeError);
  });

  it('refuses negative numbers', () => {
    expect(() => parseDurationSeconds(-1)).toThrow(TypeError);
  });

  it.each([
    ['the largest safe integer of seconds', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    ['the largest safe integer as a string', String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
    ['ten years in hours', '87600h', 315_360_000],
  ])('accepts %s', (_what, input, expected) => {
    expect(parseDurationSeconds(input)).toBe(expected);
  });

  it.each([
    ['a number above the safe range', 1e300],
    ['one past the safe range', Number.MAX_SAFE_INTEGER + 2],
    ['infinity', Infinity],
    ['NaN', NaN],
    ['twenty digits', '99999999999999999999'],
    ['twenty digits of hours', '99999999999999999999h'],
    ['a unit overflowing to infinity', `${'9'.repeat(400)}s`],
  ])('refuses %s: no safe integer of seconds', (_what, input) => {
    expect(() => parseDurationSeconds(input)).toThrow(TypeError);
  });

  it('formats like Go', () => {
    expect(formatDuration(3600)).toBe('1h0m0s');
    expect(formatDuration(90)).toBe('1m30s');
    expect(formatDuration(5)).toBe('5s');
  });
});
