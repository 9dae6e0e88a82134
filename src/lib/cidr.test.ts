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

  it('matches an IPv4 client only with an IPv4 block or an IPv4-mapped one, as Vault (Go) does', () => {
    // Node's BlockList alone would find every IPv4 address in an IPv6 block that spans
    // ::ffff:0:0/96 (::/0, ::/64): an operator's "any IPv6 client" would let in every IPv4 one.
    for (const cidr of ['::/0', '::/64', '::/96', '::/8'])
      for (const addr of ['10.0.0.1', '::ffff:10.0.0.1'])
        expect(createCidrSet([cidr]).contains(addr), `${cidr} ∋ ${addr}`).toBe(false);
    expect(createCidrSet(['::/0']).contains('2001:db8::1')).toBe(true);
    for (const addr of ['10.0.0.1', '::ffff:10.0.0.1']) {
      expect(createCidrSet(['::ffff:10.0.0.0/104']).contains(addr)).toBe(true);
      expect(createCidrSet(['::ffff:0:0/96']).contains(addr)).toBe(true);
    }
    expect(createCidrSet(['::ffff:10.0.0.0/104']).contains('11.0.0.1')).toBe(false);
  });

  it('holds no unknown address, not even in 0.0.0.0/0 and ::/0', () => {
    expect(set.contains(undefined)).toBe(false);
    expect(createCidrSet(['0.0.0.0/0', '::/0']).contains(undefined)).toBe(false);
  });

  it.each([
    ['an IPv4 block', '10.0.0.0/8'],
    ['a bare IPv4 address', '192.168.1.1'],
    ['a zero prefix', '0.0.0.0/0'],
    ['a full IPv4 prefix', '10.1.2.3/32'],
    ['an IPv6 block', 'fd00::/8'],
    ['a full IPv6 prefix', '::1/128'],
  ])('accepts %s (%s)', (_what, cidr) => {
    expect(invalidCidrs([cidr])).toEqual([]);
  });

  it.each([
    ['two slashes', '10.0.0.0/8/99'],
    ['a space before the prefix', '10.0.0.0/ 8'],
    ['a space after the prefix', '10.0.0.0/8 '],
    ['a signed prefix', '10.0.0.0/+8'],
    ['a hexadecimal prefix', '10.0.0.0/0x8'],
    ['a decimal prefix', '10.0.0.0/8.0'],
    ['an exponent prefix', '10.0.0.0/1e1'],
    ['an empty prefix', '10.0.0.0/'],
    ['an IPv4 prefix above 32', '10.0.0.0/33'],
    ['an IPv6 prefix above 128', 'fd00::/129'],
    ['no address', '/8'],
  ])('refuses %s (%s)', (_what, cidr) => {
    expect(invalidCidrs([cidr])).toEqual([cidr]);
    expect(() => createCidrSet([cidr])).toThrow(TypeError);
  });

  it('reports invalid entries', () => {
    expect(invalidCidrs(['10.0.0.0/8', '10.0.0.0/33', 'x/1', '1.2.3.4/'])).toEqual([
      '10.0.0.0/33',
      'x/1',
      '1.2.3.4/',
    ]);
  });
});
