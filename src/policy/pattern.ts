/**
 * Policy path patterns, classified as Vault's `parsePaths` does (vault/policy.go): an exact path;
 * a prefix (a trailing `*`, stripped); or a path with `+` segments (kept whole, a trailing `*`
 * included). Priority between non-exact matches follows Vault's `CheckAllowedFromNonExactPaths`
 * (vault/acl.go) and the "Priority matching" rules of Vault's policy docs.
 */

export type ExactPattern = { kind: 'exact'; key: string };
export type PrefixPattern = { kind: 'prefix'; key: string };
export type SegmentPattern = {
  kind: 'segment';
  /** The pattern as written, trailing `*` included: what identifies it when rules merge. */
  key: string;
  /** Ends in `*`: the last segment is a prefix, and further segments may follow. */
  isPrefix: boolean;
  /** The pattern without its trailing `*`. */
  wcPath: string;
  /** `wcPath` split on `/`. */
  parts: readonly string[];
  /** Index of the first `+` (Vault's `firstWCOrGlob`). */
  firstWildcard: number;
  /** Number of `+` segments. */
  wildcards: number;
  /** The text before the first `+`: a cheap test before splitting the request path. */
  literalPrefix: string;
};
export type Pattern = ExactPattern | PrefixPattern | SegmentPattern;

/** Vault strips one leading `/`: policy paths start after `/v1/`. */
export const stripLeadingSlash = (path: string): string => (path.startsWith('/') ? path.slice(1) : path);

/**
 * Why a (template-free) policy path is refused, or `undefined`. Stricter than Vault where Vault
 * would silently read a character literally: `*` anywhere but last, or `+` inside a segment,
 * is an operator's mistake (`secret/*\/db` grants nothing Vault-wide), so it is an error here.
 */
export const checkPattern = (path: string): string | undefined => {
  if (path === '') return 'the path is empty';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 32 || c === 127) return 'the path contains a control character';
  }
  if (path.includes('+*')) return "invalid use of wildcards ('+*' is forbidden)";
  const star = path.indexOf('*');
  if (star !== -1 && star !== path.length - 1) {
    return "'*' is only allowed as the last character (a prefix match); use '+' for one path segment";
  }
  const body = path.endsWith('*') ? path.slice(0, -1) : path;
  for (const segment of body.split('/')) {
    if (segment.includes('+') && segment !== '+') return "'+' must be a whole path segment (…/+/…)";
  }
  return undefined;
};

/** Classifies a path that passed {@link checkPattern} (leading `/` already stripped). */
export const compilePattern = (path: string): Pattern => {
  const hasSegmentWildcards = path === '+' || path.includes('/+') || path.startsWith('+/');
  if (!hasSegmentWildcards) {
    return path.endsWith('*') ? { kind: 'prefix', key: path.slice(0, -1) } : { kind: 'exact', key: path };
  }
  const isPrefix = path.endsWith('*');
  const wcPath = isPrefix ? path.slice(0, -1) : path;
  const parts = wcPath.split('/');
  const firstWildcard = path.indexOf('+');
  return {
    kind: 'segment',
    key: path,
    isPrefix,
    wcPath,
    parts,
    firstWildcard,
    wildcards: parts.filter((p) => p === '+').length,
    literalPrefix: path.slice(0, firstWildcard),
  };
};

/** What priority compares: Vault's `wcPathDescr`. A prefix match is `{len(prefix), true, 0, prefix}`. */
export type PriorityKey = { firstWildcard: number; isPrefix: boolean; wildcards: number; wcPath: string };

/**
 * Vault's `less`: true when `a` has lower priority than `b`. In order: the first `+` or `*`
 * comes earlier; it is a prefix (`*`) and the other is not; it has more `+` segments; it is
 * shorter; it is lexicographically smaller.
 */
export const lowerPriority = (a: PriorityKey, b: PriorityKey): boolean => {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard < b.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix;
  if (a.wildcards !== b.wildcards) return a.wildcards > b.wildcards;
  if (a.wcPath.length !== b.wcPath.length) return a.wcPath.length < b.wcPath.length;
  return a.wcPath < b.wcPath;
};

/** Whether a `+` pattern matches a request path split on `/` (Vault's segment loop, non-bare-mount). */
export const segmentMatches = (pattern: SegmentPattern, pathParts: readonly string[]): boolean => {
  const parts = pattern.parts;
  if (pathParts.length < parts.length) return false;
  if (!pattern.isPrefix && parts.length !== pathParts.length) return false;
  const last = parts.length - 1;
  for (let i = 0; i <= last; i++) {
    const aclPart = parts[i] as string;
    const pathPart = pathParts[i] as string;
    if (aclPart === '+' || aclPart === pathPart) continue;
    if (pattern.isPrefix && i === last && pathPart.startsWith(aclPart)) continue;
    return false;
  }
  return true;
};

/**
 * Whether a `+` pattern reaches below a mount (Vault's `CheckAllowedFromNonExactPaths` with
 * `bareMount`): `mountPath` ends in `/`, and the pattern's first segments, as many as the
 * mount's, match it (`secret/data/+/dev/*` reaches below `secret/`). For `hasMountAccess`.
 */
export const segmentReachesUnder = (pattern: SegmentPattern, mountPath: string): boolean => {
  const pathParts = mountPath.split('/');
  const depth = pathParts.length - 1;
  if (depth < 1 || pattern.parts.length < depth) return false;
  const joined: string[] = [];
  for (let i = 0; i < depth; i++) {
    const aclPart = pattern.parts[i] as string;
    const pathPart = pathParts[i] as string;
    if (aclPart === '+' || aclPart === pathPart) joined.push(pathPart);
    else if (pattern.isPrefix && i === pattern.parts.length - 1 && pathPart.startsWith(aclPart))
      joined.push(...pathParts.slice(i, depth));
    else return false;
  }
  return `${joined.join('/')}/`.startsWith(mountPath);
};
