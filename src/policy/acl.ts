import type { Capability } from './capabilities.js';
import { CAPABILITY_BITS, capabilitySet, mergeBits } from './bits.js';
import {
  lowerPriority,
  segmentMatches,
  segmentReachesUnder,
  type Pattern,
  type PriorityKey,
  type SegmentPattern,
} from './pattern.js';

/** How a path is looked up. */
export type AclLookupOptions = {
  /**
   * Vault's LIST lookup: when nothing matches `path` exactly, the path without its trailing `/`
   * is tried first (exact, then prefix and `+` patterns), so that `secret/metadata/team-a`
   * grants listing `secret/metadata/team-a/`. Default `true`, as Vault's `sys/capabilities`
   * answers. For a request, pass whether it is a list request: the fallback then applies only
   * to lists, exactly as Vault's `AllowOperation`. For a path without a trailing `/`, both
   * lookups are the same.
   */
  list?: boolean;
};

/** A token's compiled access control list. */
export type Acl = {
  /**
   * The capabilities granted on a Vault logical path (no `/v1/`; a list request ends in `/`):
   * those of the highest-priority matching pattern. Empty when that pattern denies, or when
   * nothing matches. The set is shared and read-only; it never contains `deny`.
   */
  capabilities(path: string, options?: AclLookupOptions): ReadonlySet<Capability>;
  /**
   * Whether `capability` is granted on `path`. `list` is looked up as a LIST request, every
   * other capability as a plain request. @throws TypeError for `deny`, which is not grantable.
   */
  allows(path: string, capability: Capability): boolean;
  /**
   * Whether anything at or under `path` is granted (Vault's `hasMountAccess`): a grant on the
   * path itself, an exact or prefix rule beneath it that does not deny, or a `+` rule matching
   * it. What `sys/internal/ui/mounts` asks before it names a mount to a token.
   */
  grantsUnder(path: string): boolean;
};

/** A compiled rule: a pattern and its capability bits. */
export type AclEntry = { pattern: Pattern; bits: number };

/**
 * An ACL with the lookup behind its answers: the merged rule that decides a path (Vault's
 * winning `ACLPermissions`), for what needs to know which pattern won rather than only what it
 * grants (the granting policies of an audit entry). Internal to the policy part.
 */
export type CompiledAcl = Acl & {
  /**
   * The rule that decides `path` as {@link Acl.allows} looks it up (`list`: as a LIST request):
   * its pattern and the capability bits merged from every policy holding that pattern; undefined
   * when nothing matches. Entries are shared and read-only.
   */
  decidingRule(path: string, list: boolean): Readonly<AclEntry> | undefined;
};

/** A merged non-exact rule, with what priority compares computed once. */
type RankedEntry = AclEntry & { priority: PriorityKey };
type PrefixBucket = { length: number; single: string | undefined; keys: Map<string, RankedEntry> };

const SLASH = 47;

/**
 * Compiles entries into an ACL, merging as Vault's `NewACL` does: the same pattern (same kind
 * and key) from several rules or policies unions its capabilities, and `deny` on any of them
 * leaves only deny. Different patterns are not merged: at lookup the most specific one wins.
 */
export const buildAcl = (entries: Iterable<AclEntry>): CompiledAcl => {
  // Exact rules are ranked too (unused: an exact match is never weighed), so that one shape serves.
  const exact = new Map<string, RankedEntry>();
  const prefixes = new Map<string, RankedEntry>();
  const segmentRules = new Map<string, RankedEntry>();
  for (const { pattern, bits } of entries) {
    const tree = pattern.kind === 'exact' ? exact : pattern.kind === 'prefix' ? prefixes : segmentRules;
    const existing = tree.get(pattern.key);
    if (existing !== undefined) existing.bits = mergeBits(existing.bits, bits);
    else {
      // A prefix match ranks as Vault's wcPathDescr{len(prefix), isPrefix, 0, prefix}.
      const priority: PriorityKey =
        pattern.kind === 'segment'
          ? pattern
          : { firstWildcard: pattern.key.length, isPrefix: true, wildcards: 0, wcPath: pattern.key };
      tree.set(pattern.key, { pattern, bits, priority });
    }
  }

  // Longest-prefix match without a radix tree: prefixes grouped by length, longest first; a
  // lookup probes one group per distinct length (a token holds few), cheapest first.
  const byLength = new Map<number, Map<string, RankedEntry>>();
  for (const [key, rule] of prefixes) {
    const group = byLength.get(key.length) ?? new Map<string, RankedEntry>();
    group.set(key, rule);
    byLength.set(key.length, group);
  }
  const buckets: PrefixBucket[] = [...byLength]
    .sort(([a], [b]) => b - a)
    .map(([length, keys]) => ({
      length,
      keys,
      single: keys.size === 1 ? (keys.keys().next().value as string) : undefined,
    }));

  // `+` patterns in descending priority: the first that matches is the best of them.
  const segments: (RankedEntry & { pattern: SegmentPattern })[] = [...segmentRules.values()]
    .map((rule) => rule as RankedEntry & { pattern: SegmentPattern })
    .sort((a, b) =>
      lowerPriority(a.priority, b.priority) ? 1 : lowerPriority(b.priority, a.priority) ? -1 : 0,
    );

  const longestPrefix = (path: string): RankedEntry | undefined => {
    for (const bucket of buckets) {
      if (bucket.length > path.length) continue;
      const key = bucket.single ?? path.slice(0, bucket.length);
      if (bucket.single !== undefined && !path.startsWith(key)) continue;
      const rule = bucket.keys.get(key);
      if (rule !== undefined) return rule;
    }
    return undefined;
  };

  // Vault's CheckAllowedFromNonExactPaths: the longest prefix rule, against the best `+` rule.
  const nonExact = (path: string): RankedEntry | undefined => {
    const prefix = longestPrefix(path);
    if (segments.length === 0) return prefix;
    let parts: string[] | undefined;
    let best: RankedEntry | undefined;
    for (const entry of segments) {
      if (!path.startsWith(entry.pattern.literalPrefix)) continue;
      parts ??= path.split('/');
      if (segmentMatches(entry.pattern, parts)) {
        best = entry;
        break;
      }
    }
    if (best === undefined) return prefix;
    if (prefix === undefined) return best;
    return lowerPriority(prefix.priority, best.priority) ? best : prefix;
  };

  /** Every prefix and `+` rule that matches `path` (Vault's prefixAndWCCandidatesForPath). */
  const candidatesFor = (path: string, into: RankedEntry[]): void => {
    const prefix = longestPrefix(path);
    if (prefix !== undefined) into.push(prefix);
    if (segments.length === 0) return;
    const parts = path.split('/');
    for (const entry of segments) {
      if (path.startsWith(entry.pattern.literalPrefix) && segmentMatches(entry.pattern, parts)) {
        into.push(entry);
      }
    }
  };
  const best = (candidates: readonly RankedEntry[], has: number): RankedEntry | undefined => {
    let top: RankedEntry | undefined;
    for (const c of candidates) {
      if ((c.bits & has) === has && (top === undefined || lowerPriority(top.priority, c.priority))) top = c;
    }
    return top;
  };

  /**
   * A LIST of a path ending in '/' that no exact rule covers (Vault's resolveACLPermsForListOp):
   * the rules matching the path with and without its slash are weighed together. The trimmed
   * form lets `secret/metadata/team-a` or `secret/+` grant the listing; the full form lets a
   * deny on `secret/metadata/private/*` (prefix `secret/metadata/private/`, which the trimmed
   * path does not start with) refuse it. A deny wins unless a more specific rule grants list.
   */
  const listLookup = (path: string): RankedEntry | undefined => {
    const candidates: RankedEntry[] = [];
    candidatesFor(path.slice(0, -1), candidates);
    candidatesFor(path, candidates);
    const deny = best(candidates, CAPABILITY_BITS.deny);
    const list = best(candidates, CAPABILITY_BITS.list);
    if (deny !== undefined && (list === undefined || lowerPriority(list.priority, deny.priority)))
      return deny;
    return list ?? best(candidates, 0);
  };

  // Vault's AllowOperation: an exact rule first (for a list, also without the trailing slash),
  // then non-exact rules: for a list ending in '/', those of both forms of the path weighed
  // together; otherwise the most specific one decides, even when it grants less than a rule
  // further down would.
  const lookup = (rawPath: string, list: boolean): RankedEntry | undefined => {
    let path = rawPath;
    while (path.charCodeAt(0) === SLASH) path = path.slice(1);
    const rule = exact.get(path);
    if (rule !== undefined) return rule;
    if (list && path.charCodeAt(path.length - 1) === SLASH)
      return exact.get(path.slice(0, -1)) ?? listLookup(path);
    return nonExact(path);
  };

  const grants = (bits: number | undefined): boolean =>
    bits !== undefined && bits !== 0 && (bits & CAPABILITY_BITS.deny) === 0;

  return {
    grantsUnder: (path) => {
      if (grants(lookup(path, true)?.bits)) return true;
      for (const tree of [exact, prefixes]) {
        for (const [key, rule] of tree) if (key.startsWith(path) && grants(rule.bits)) return true;
      }
      if (grants(nonExact(path)?.bits)) return true;
      // A `+` rule whose first segments match the mount reaches below it (Vault's bareMount).
      return segments.some((s) => grants(s.bits) && segmentReachesUnder(s.pattern, path));
    },
    capabilities: (path, options) => capabilitySet(lookup(path, options?.list ?? true)?.bits ?? 0),
    allows: (path, capability) => {
      if (capability === 'deny') throw new TypeError('"deny" is not a capability that can be granted');
      const bits = lookup(path, capability === 'list')?.bits ?? 0;
      return (bits & CAPABILITY_BITS.deny) === 0 && (bits & CAPABILITY_BITS[capability]) !== 0;
    },
    decidingRule: lookup,
  };
};
