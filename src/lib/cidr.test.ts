import { describe, expect, it } from 'vitest';
import { createCidrSet, invalidCidrs } from './cidr.js';

describe('createCidrSet', () => {
  const set = createCidrSet(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);
  it.each([
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['127.0.0.1', true],
    ['127.0.0.2', false],
    ['::ffff:10.9.9.9', true],
    ['::ffff:192.168.0.1', false],
    ['fd00::1', true],
    ['fe80::1', false],
    ['not-an-ip', false],
  ])('%s is contained: %s', (addr, expected) => {
    expect(set.contains(addr)).toBe(expected);
  });

  it('reports invalid entries', () => {
    expect(invalidCidrs(['10.0.0.0/8', '10.0.0.0/33', 'x/1', '1.2.3.4/'])).toEqual([
      '10.0.0.0/33',
      'x/1',
      '1.2.3.4/',
    ]);
  });
});
