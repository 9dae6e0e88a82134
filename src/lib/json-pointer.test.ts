import { describe, expect, it } from 'vitest';
import { getByPointer, isJsonPointer } from './json-pointer.js';

describe('json pointers', () => {
  const doc = {
    sub: 'a',
    'kubernetes.io': { namespace: 'team', serviceaccount: { name: 'app' } },
    'a/b': 1,
    'm~n': 2,
    groups: ['x', 'y'],
  };

  it.each([
    ['', doc],
    ['/sub', 'a'],
    ['/kubernetes.io/namespace', 'team'],
    ['/kubernetes.io/serviceaccount/name', 'app'],
    ['/a~1b', 1],
    ['/m~0n', 2],
    ['/groups/1', 'y'],
  ])('reads %j', (pointer, value) => {
    expect(getByPointer(doc, pointer)).toEqual(value);
  });

  it.each([
    '/missing',
    '/groups/2',
    '/groups/01',
    '/groups/-',
    '/sub/x',
    '/__proto__',
    '/constructor',
    '/kubernetes.io/toString',
  ])('finds nothing at %j', (pointer) => {
    expect(getByPointer(doc, pointer)).toBeUndefined();
  });

  it('tells well-formed pointers from others', () => {
    expect(['', '/a', '/a~0b~1c', '/'].every(isJsonPointer)).toBe(true);
    expect(['a', '/a~2', '/a~'].some(isJsonPointer)).toBe(false);
  });
});
