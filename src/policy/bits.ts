import { CAPABILITIES, type Capability } from './capabilities.js';

/**
 * Capabilities as bits, as Vault's `CapabilitiesBitmap` (vault/policy.go): the hot path of the
 * ACL merges and tests integers, never arrays or strings. Internal to the policy part.
 */
export const CAPABILITY_BITS: Readonly<Record<Capability, number>> = {
  deny: 1,
  create: 1 << 1,
  read: 1 << 2,
  update: 1 << 3,
  delete: 1 << 4,
  list: 1 << 5,
  sudo: 1 << 6,
  patch: 1 << 7,
};

export const DENY_BIT = CAPABILITY_BITS.deny;

/** The union of `capabilities`; `deny` anywhere leaves only the deny bit (Vault's parsePaths). */
export const bitsOf = (capabilities: Iterable<Capability>): number => {
  let bits = 0;
  for (const c of capabilities) {
    if (c === 'deny') return DENY_BIT;
    bits |= CAPABILITY_BITS[c];
  }
  return bits;
};

/** Vault's merge of one pattern's capabilities across rules and policies: deny wins, else union. */
export const mergeBits = (a: number, b: number): number => ((a | b) & DENY_BIT ? DENY_BIT : a | b);

/** The capabilities of a bitmap in {@link CAPABILITIES} order; `['deny']` alone when the deny bit is set. */
export const capabilitiesOf = (bits: number): Capability[] =>
  bits & DENY_BIT ? ['deny'] : CAPABILITIES.filter((c) => bits & CAPABILITY_BITS[c]);

/** A set that refuses mutation: the same instances are handed to every caller. */
class FrozenCapabilitySet extends Set<Capability> {
  constructor(capabilities: readonly Capability[]) {
    super();
    for (const c of capabilities) Set.prototype.add.call(this, c);
  }
  override add(): this {
    throw new TypeError('capability sets are read-only');
  }
  override delete(): boolean {
    throw new TypeError('capability sets are read-only');
  }
  override clear(): void {
    throw new TypeError('capability sets are read-only');
  }
}

// One shared set per bitmap (2^8 of them), so that answering a check allocates nothing. A denied
// bitmap is the empty set: what was denied grants nothing, `deny` included.
const SETS: readonly ReadonlySet<Capability>[] = Array.from(
  { length: 256 },
  (_, bits) => new FrozenCapabilitySet(bits & DENY_BIT ? [] : capabilitiesOf(bits)),
);

/** The read-only capability set a bitmap grants (empty when denied or 0). */
export const capabilitySet = (bits: number): ReadonlySet<Capability> =>
  SETS[bits & 0xff] as ReadonlySet<Capability>;
