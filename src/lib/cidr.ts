import { BlockList, isIP } from 'node:net';

/**
 * A set of CIDR blocks, built on node's own `net.BlockList` (no hand-written bit maths).
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, as Node reports IPv4 peers on dual-stack
 * sockets) are matched as their IPv4 form. As in Vault (go-sockaddr), an IPv4 client is matched
 * only by IPv4 blocks and IPv4-mapped ones (`::ffff:10.0.0.0/104`), never by a plain IPv6 block
 * that happens to span the mapped range (`::/0`, `::/64`): BlockList alone would let every IPv4
 * client into a role bound to "any IPv6 address".
 */
export type CidrSet = {
  readonly cidrs: readonly string[];
  /**
   * Whether the set holds `address`. An unknown address (undefined: Node forgets a peer's once
   * its socket is gone, and so does Fastify's `request.ip`) is in no set: a bound check fails closed.
   */
  contains(address: string | undefined): boolean;
};

/**
 * Parses one CIDR (`10.0.0.0/8`, `fd00::/8`) or bare address (a /32 or /128). Throws `TypeError`
 * when invalid. Strict where `Number()` would be lax: at most one `/`, and the prefix is decimal
 * digits only, so `10.0.0.0/8/99`, `10.0.0.0/ 8`, `10.0.0.0/0x8` and `10.0.0.0/` are refused rather
 * than read as some other block.
 */
const addCidr = (lists: { v4: BlockList; v6: BlockList }, cidr: string): void => {
  const parts = cidr.split('/');
  const [addr = '', prefixText] = parts;
  const family = isIP(addr);
  if (family === 0 || parts.length > 2) throw new TypeError(`invalid CIDR "${cidr}"`);
  if (prefixText !== undefined && !/^\d+$/.test(prefixText)) throw new TypeError(`invalid CIDR "${cidr}"`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) throw new TypeError(`invalid CIDR "${cidr}"`);
  // An IPv4-mapped block is an IPv4 block written in IPv6 (BlockList matches IPv4 addresses
  // against it): with the IPv4 ones.
  const v4 = family === 4 || MAPPED.check(addr, 'ipv6');
  (v4 ? lists.v4 : lists.v6).addSubnet(addr, prefix, type);
};

/** The IPv4-mapped IPv6 range, `::ffff:0:0/96`. */
const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/**
 * Builds a {@link CidrSet} from CIDRs (`10.0.0.0/8`, `fd00::/8`) and bare addresses. An empty
 * list contains nothing. Throws `TypeError` naming the first invalid entry (use
 * {@link invalidCidrs} to report them all).
 */
export const createCidrSet = (cidrs: readonly string[]): CidrSet => {
  const lists = { v4: new BlockList(), v6: new BlockList() };
  for (const c of cidrs) addCidr(lists, c);
  return {
    cidrs,
    contains: (address: string | undefined) => {
      if (typeof address !== 'string') return false;
      const plain =
        address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
      const family = isIP(plain);
      if (family === 4) return lists.v4.check(plain, 'ipv4');
      if (family === 0) return false;
      // Any other IPv4-mapped spelling (`::ffff:a00:1`) is an IPv4 client too.
      return MAPPED.check(plain, 'ipv6') ? lists.v4.check(plain, 'ipv6') : lists.v6.check(plain, 'ipv6');
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

/**
 * A CIDR as Vault shows it (go-sockaddr's `String()`, in a token's `bound_cidrs` and a role's
 * `token_bound_cidrs`): a block of one address (`/32`, `/128`) as the bare address; any other
 * entry as written.
 */
export const vaultCidrText = (cidr: string): string => {
  const slash = cidr.indexOf('/');
  if (slash === -1) return cidr;
  const addr = cidr.slice(0, slash);
  const prefix = cidr.slice(slash + 1);
  const family = isIP(addr);
  return (family === 4 && prefix === '32') || (family === 6 && prefix === '128') ? addr : cidr;
};
