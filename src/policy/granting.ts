import type { AclEntry, CompiledAcl } from './acl.js';
import { CAPABILITY_BITS, DENY_BIT } from './bits.js';
import type { Capability } from './capabilities.js';

/** One policy of a token, with its rules as they apply to that token (templates resolved). */
export type HeldPolicy = { name: string; entries: readonly AclEntry[] };

/**
 * Vault's `granting_policies` of a request (NewACL's `GrantingPoliciesMap`, read by
 * AllowOperation): the names of the policies, in the order the token holds them, whose own rule
 * on the pattern that decides `path` grants `capability`. Empty when that pattern does not grant
 * it (a deny on it in any policy, or nothing matches): a refused request has no granting policy.
 *
 * Not on the ACL check's path: rules merged into an ACL no longer say which policy gave what, so
 * this finds the deciding pattern, then looks it up in each held policy. The cost is linear in
 * the rules of the token's policies; only what writes an audit entry asks.
 *
 * `list` is looked up as a LIST request (Vault's fallback to the folder's own rule), every other
 * capability as a plain request, as `Acl.allows` does.
 * @throws TypeError for `deny`, which is not a capability that can be granted.
 */
export const grantingPolicies = (
  acl: CompiledAcl,
  held: readonly HeldPolicy[],
  path: string,
  capability: Capability,
): string[] => {
  if (capability === 'deny') throw new TypeError('"deny" is not a capability that can be granted');
  const bit = CAPABILITY_BITS[capability];
  const rule = acl.decidingRule(path, capability === 'list');
  if (rule === undefined || (rule.bits & DENY_BIT) !== 0 || (rule.bits & bit) === 0) return [];
  const { kind, key } = rule.pattern;
  return held
    .filter(({ entries }) =>
      entries.some((e) => e.pattern.kind === kind && e.pattern.key === key && (e.bits & bit) !== 0),
    )
    .map(({ name }) => name);
};
