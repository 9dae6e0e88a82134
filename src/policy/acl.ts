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

type PrefixBucket = { length: number; single: string | undefined; keys: Map<string, number> };
type SegmentEntry = { pattern: SegmentPattern; bits: number };

const SLASH = 47;

/**
 * Compiles entries into an ACL, merging as Vault's `NewACL` does: the same pattern (same kind
 * and key) from several rules or policies unions its capabilities, and `deny` on any of them
 * leaves only deny. Different patterns are not merged: at lookup the most specific one wins.
 */
export const buildAcl = (entries: Iterable<AclEntry>): Acl => {
  const exact = new Map<string, number>();
  const prefixes = new Map<string, number>();
  const segmentBits = new Map<string, number>();
  const segmentPatterns = new Map<string, SegmentPattern>();
  for (const { pattern, bits } of entries) {
    const tree = pattern.kind === 'exact' ? exact : pattern.kind === 'prefix' ? prefixes : segmentBits;
    const existing = tree.get(pattern.key);
    tree.set(pattern.key, existing === undefined ? bits : mergeBits(existing, bits));
    if (pattern.kind === 'segment') segmentPatterns.set(pattern.key, pattern);
  }

  // Longest-prefix match without a radix tree: prefixes grouped by length, longest first; a
  // lookup probes one group per distinct length (a token holds few), cheapest first.
  const byLength = new Map<number, Map<string, number>>();
  for (const [key, bits] of prefixes) {
    const group = byLength.get(key.length) ?? new Map<string, number>();
    group.set(key, bits);
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
  const segments: SegmentEntry[] = [...segmentPatterns.values()]
    .sort((a, b) => (lowerPriority(a, b) ? 1 : lowerPriority(b, a) ? -1 : 0))
    .map((pattern) => ({ pattern, bits: segmentBits.get(pattern.key) as number }));

  const longestPrefix = (path: string): { key: string; bits: number } | undefined => {
    for (const bucket of buckets) {
      if (bucket.length > path.length) continue;
      const key = bucket.single ?? path.slice(0, bucket.length);
      if (bucket.single !== undefined && !path.startsWith(key)) continue;
      const bits = bucket.keys.get(key);
      if (bits !== undefined) return { key, bits };
    }
    return undefined;
  };

  // Vault's CheckAllowedFromNonExactPaths: the longest prefix rule, against the best `+` rule.
  const nonExact = (path: string): number | undefined => {
    const prefix = longestPrefix(path);
    const prefixBits = prefix?.bits;
    if (segments.length === 0) return prefixBits;
    let parts: string[] | undefined;
    let best: SegmentEntry | undefined;
    for (const entry of segments) {
      if (!path.startsWith(entry.pattern.literalPrefix)) continue;
      parts ??= path.split('/');
      if (segmentMatches(entry.pattern, parts)) {
        best = entry;
        break;
      }
    }
    if (best === undefined) return prefixBits;
    if (prefix === undefined) return best.bits;
    const prefixRule: PriorityKey = {
      firstWildcard: prefix.key.length,
      isPrefix: true,
      wildcards: 0,
      wcPath: prefix.key,
    };
    return lowerPriority(prefixRule, best.pattern) ? best.bits : prefix.bits;
  };

  type Candidate = { key: PriorityKey; bits: number };
  /** Every prefix and `+` rule that matches `path` (Vault's prefixAndWCCandidatesForPath). */
  const candidatesFor = (path: string, into: Candidate[]): void => {
    const prefix = longestPrefix(path);
    if (prefix !== undefined) {
      into.push({
        key: { firstWildcard: prefix.key.length, isPrefix: true, wildcards: 0, wcPath: prefix.key },
        bits: prefix.bits,
      });
    }
    if (segments.length === 0) return;
    const parts = path.split('/');
    for (const entry of segments) {
      if (path.startsWith(entry.pattern.literalPrefix) && segmentMatches(entry.pattern, parts)) {
        into.push({ key: entry.pattern, bits: entry.bits });
      }
    }
  };
  const best = (candidates: readonly Candidate[], has: number): Candidate | undefined => {
    let top: Candidate | undefined;
    for (const c of candidates) {
      if ((c.bits & has) === has && (top === undefined || lowerPriority(top.key, c.key))) top = c;
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
  const listLookup = (path: string): number => {
    const candidates: Candidate[] = [];
    candidatesFor(path.slice(0, -1), candidates);
    candidatesFor(path, candidates);
    const deny = best(candidates, CAPABILITY_BITS.deny);
    const list = best(candidates, CAPABILITY_BITS.list);
    if (deny !== undefined && (list === undefined || lowerPriority(list.key, deny.key))) return deny.bits;
    return (list ?? best(candidates, 0))?.bits ?? 0;
  };

  // Vault's AllowOperation: an exact rule first (for a list, also without the trailing slash),
  // then non-exact rules: for a list ending in '/', those of both forms of the path weighed
  // together; otherwise the most specific one decides, even when it grants less than a rule
  // further down would.
  const lookup = (rawPath: string, list: boolean): number => {
    let path = rawPath;
    while (path.charCodeAt(0) === SLASH) path = path.slice(1);
    const bits = exact.get(path);
    if (bits !== undefined) return bits;
    if (list && path.charCodeAt(path.length - 1) === SLASH)
      return exact.get(path.slice(0, -1)) ?? listLookup(path);
    return nonExact(path) ?? 0;
  };

  const grants = (bits: number | undefined): boolean =>
    bits !== undefined && bits !== 0 && (bits & CAPABILITY_BITS.deny) === 0;

  return {
    grantsUnder: (path) => {
      if (grants(lookup(path, true))) return true;
      for (const tree of [exact, prefixes]) {
        for (const [key, bits] of tree) if (key.startsWith(path) && grants(bits)) return true;
      }
      if (grants(nonExact(path))) return true;
      // A `+` rule whose first segments match the mount reaches below it (Vault's bareMount).
      return segments.some((s) => grants(s.bits) && segmentReachesUnder(s.pattern, path));
    },
    capabilities: (path, options) => capabilitySet(lookup(path, options?.list ?? true)),
    allows: (path, capability) => {
      if (capability === 'deny') throw new TypeError('"deny" is not a capability that can be granted');
      const bits = lookup(path, capability === 'list');
      return (bits & CAPABILITY_BITS.deny) === 0 && (bits & CAPABILITY_BITS[capability]) !== 0;
    },
  };
};
