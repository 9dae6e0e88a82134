import { BlockList, isIP } from 'node:net';

/**
 * A set of CIDR blocks, built on node's own `net.BlockList` (no hand-written bit maths).
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, as Node reports IPv4 peers on dual-stack
 * sockets) are matched as their IPv4 form.
 */
export type CidrSet = { readonly cidrs: readonly string[]; contains(address: string): boolean };

/** Parses one CIDR (`10.0.0.0/8`, `fd00::/8`) or bare address. Throws `TypeError` when invalid. */
const addCidr = (list: BlockList, cidr: string): void => {
  const [addr = '', prefixText] = cidr.split('/');
  const family = isIP(addr);
  if (family === 0) throw new TypeError(`invalid CIDR "${cidr}"`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText ?? '0').trim() === '') {
    throw new TypeError(`invalid CIDR "${cidr}"`);
  }
  list.addSubnet(addr, prefix, type);
};

export const createCidrSet = (cidrs: readonly string[]): CidrSet => {
  const list = new BlockList();
  for (const c of cidrs) addCidr(list, c);
  return {
    cidrs,
    contains: (address: string) => {
      const plain =
        address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
      const family = isIP(plain);
      if (family === 0) return false;
      return list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
};

/** Validates a CIDR list, returning the offending entries (empty when all are valid). */
export const invalidCidrs = (cidrs: readonly string[]): string[] =>
  cidrs.filter((c) => {
    try {
      createCidrSet([c]);
      return false;
    } catch {
      return true;
    }
  });
