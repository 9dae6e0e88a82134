import type { Capability } from '../../src/policy/index.js';

/*
 * A reference implementation of Vault's ACL, written as plainly as possible from Vault's source,
 * for the differential test test/acl-model.test.ts. Nothing here is shared with src/policy/: it
 * is a second reading of the same rules, slow and obvious (a linear scan over every rule).
 *
 * - Parsing (vault/policy.go `parsePaths`): a leading `/` is stripped once; a path with a `+`
 *   segment (`+`, `…/+…`, `+/…`) is a segment-wildcard rule kept whole; otherwise a trailing `*`
 *   makes a prefix rule (stripped), else an exact rule. `deny` among the capabilities leaves only
 *   deny.
 * - Merging (vault/acl.go `NewACL`): the same rule (kind and key) from several blocks or
 *   policies is one: `deny` in any of them leaves only deny, else the capabilities are united.
 * - Lookup (vault/acl.go `AllowOperation`, current Vault with `resolveACLPermsForListOp`): leading
 *   slashes stripped; an exact rule on the path; for a list, an exact rule on the path without its
 *   trailing `/`; for a list of a path ending in `/`, the candidates of both forms weighed by
 *   `resolveACLPermsForListOp`; otherwise the highest-priority candidate
 *   (`CheckAllowedFromNonExactPaths`). The candidates of a path are the LONGEST matching prefix
 *   rule (go-radix `LongestPrefix`: shorter prefixes are never candidates) and every matching
 *   segment-wildcard rule.
 * - Templates: authgate's documented rules (docs/policies.md, "Templated policies"), where they
 *   deliberately differ from Vault's identitytpl: unknown or unsafe values drop the rule, and a
 *   deny that cannot be placed drops the whole policy for that token.
 */

/** An operation, named by the capability it needs (Vault's logical operations). */
export type Operation = 'read' | 'list' | 'create' | 'update' | 'patch' | 'delete';

/** A rule as written in a policy: a path (maybe with `{{…}}` directives) and its capabilities. */
export type WrittenRule = { path: string; capabilities: readonly Capability[] };
export type WrittenPolicy = { name: string; rules: readonly WrittenRule[] };

/** What templates draw on: the token's identity (the same fields as authgate's AclSubject). */
export type RefSubject = {
  policies: readonly string[];
  metadata: Readonly<Record<string, string>>;
  role: string;
  mountAccessor: string;
  entityId: string;
};

/** A rule's permissions: `deny`, or the capabilities it grants (maybe none). */
export type Perms = { deny: boolean; caps: ReadonlySet<Capability> };

type Kind = 'exact' | 'prefix' | 'segment';
type Rule = { kind: Kind; key: string; perms: Perms };

/** Vault's `wcPathDescr`. */
type Candidate = {
  firstWildcard: number;
  isPrefix: boolean;
  wildcards: number;
  wcPath: string;
  perms: Perms;
};

/** Vault's built-in `default` policy as authgate ships it (docs/policies.md, "The `default` policy"). */
export const DEFAULT_RULES: readonly WrittenRule[] = [
  { path: 'auth/token/lookup-self', capabilities: ['read'] },
  { path: 'auth/token/renew-self', capabilities: ['update'] },
  { path: 'auth/token/revoke-self', capabilities: ['update'] },
  { path: 'sys/capabilities-self', capabilities: ['update'] },
  { path: 'sys/renew', capabilities: ['update'] },
  { path: 'sys/leases/renew', capabilities: ['update'] },
];

const permsOf = (capabilities: readonly Capability[]): Perms =>
  capabilities.includes('deny')
    ? { deny: true, caps: new Set() }
    : { deny: false, caps: new Set(capabilities) };

/** The value of a directive for a subject, by authgate's table (docs/policies.md). */
export const directiveValue = (directive: string, s: RefSubject): string | undefined => {
  const alias = /^identity\.entity\.aliases\.([^.]+)\.metadata\.(.+)$/.exec(directive);
  if (alias !== null) return alias[1] === s.mountAccessor ? s.metadata[alias[2] as string] : undefined;
  switch (directive) {
    case 'identity.namespace':
      return s.metadata['service_account_namespace'];
    case 'identity.service_account':
      return s.metadata['service_account_name'];
    case 'identity.pod':
      return s.metadata['pod_name'];
    case 'identity.pod_uid':
      return s.metadata['pod_uid'];
    case 'identity.role':
      return s.role;
    case 'identity.entity.id':
      return s.entityId;
    default:
      throw new Error(`the reference does not know {{${directive}}}`);
  }
};

/** A value stays inside one segment and cannot widen a rule (docs/policies.md). */
const isSafe = (v: string | undefined): v is string =>
  v !== undefined &&
  v !== '' &&
  v !== '.' &&
  !v.includes('..') &&
  !/[/*+]/.test(v) &&
  // eslint-disable-next-line no-control-regex
  !/[\u0000-\u001f\u007f]/.test(v);

/** The path for a subject, or undefined when a directive has no safe value. */
export const resolvePath = (path: string, s: RefSubject): string | undefined => {
  let out = '';
  let rest = path;
  for (;;) {
    const open = rest.indexOf('{{');
    if (open === -1) return out + rest;
    const close = rest.indexOf('}}', open);
    const value = directiveValue(rest.slice(open + 2, close).trim(), s);
    if (!isSafe(value)) return undefined;
    out += rest.slice(0, open) + value;
    rest = rest.slice(close + 2);
  }
};

/** Vault's classification of a (resolved) policy path. */
const classify = (written: string): { kind: Kind; key: string } => {
  const path = written.startsWith('/') ? written.slice(1) : written;
  if (path === '+' || path.includes('/+') || path.startsWith('+/')) return { kind: 'segment', key: path };
  if (path.endsWith('*')) return { kind: 'prefix', key: path.slice(0, -1) };
  return { kind: 'exact', key: path };
};

/**
 * The rules of a token: its policies (known by name; `default` is {@link DEFAULT_RULES} unless
 * `policies` defines it; others grant nothing), resolved for it, merged as NewACL merges them.
 */
export const referenceRules = (policies: readonly WrittenPolicy[], s: RefSubject): Rule[] => {
  const placed: { kind: Kind; key: string; perms: Perms }[] = [];
  for (const name of s.policies) {
    const policy =
      policies.find((p) => p.name === name) ??
      (name === 'default' ? { name, rules: DEFAULT_RULES } : undefined);
    if (policy === undefined) continue;
    const mine: typeof placed = [];
    let failClosed = false;
    for (const rule of policy.rules) {
      const path = resolvePath(rule.path, s);
      if (path === undefined) {
        // authgate, not Vault: an unplaceable deny voids the whole policy for this token.
        if (rule.capabilities.includes('deny')) failClosed = true;
        continue;
      }
      mine.push({ ...classify(path), perms: permsOf(rule.capabilities) });
    }
    if (!failClosed) placed.push(...mine);
  }
  const merged: Rule[] = [];
  for (const r of placed) {
    const same = merged.find((m) => m.kind === r.kind && m.key === r.key);
    if (same === undefined) merged.push({ ...r });
    else if (same.perms.deny || r.perms.deny) same.perms = { deny: true, caps: new Set() };
    else same.perms = { deny: false, caps: new Set([...same.perms.caps, ...r.perms.caps]) };
  }
  return merged;
};

/** Vault's segment loop (`tryMatchWildcardPath`, not bare-mount): the candidate, or undefined. */
const matchSegmentRule = (rule: Rule, path: string): Candidate | undefined => {
  const isPrefix = rule.key.endsWith('*');
  const wcPath = isPrefix ? rule.key.slice(0, -1) : rule.key;
  const ruleParts = wcPath.split('/');
  const pathParts = path.split('/');
  if (pathParts.length < ruleParts.length) return undefined;
  if (!isPrefix && pathParts.length !== ruleParts.length) return undefined;
  let wildcards = 0;
  for (let i = 0; i < ruleParts.length; i++) {
    const r = ruleParts[i] as string;
    const p = pathParts[i] as string;
    if (r === '+') wildcards++;
    else if (r === p) continue;
    else if (isPrefix && i === ruleParts.length - 1 && p.startsWith(r)) continue;
    else return undefined;
  }
  return { firstWildcard: rule.key.indexOf('+'), isPrefix, wildcards, wcPath, perms: rule.perms };
};

/** Vault's `prefixAndWCCandidatesForPath`. */
const candidatesFor = (rules: readonly Rule[], path: string): Candidate[] => {
  const out: Candidate[] = [];
  let longest: Rule | undefined;
  for (const r of rules) {
    if (
      r.kind === 'prefix' &&
      path.startsWith(r.key) &&
      (longest === undefined || r.key.length > longest.key.length)
    )
      longest = r;
  }
  if (longest !== undefined) {
    const key = longest.key;
    out.push({ firstWildcard: key.length, isPrefix: true, wildcards: 0, wcPath: key, perms: longest.perms });
  }
  for (const r of rules) {
    if (r.kind !== 'segment') continue;
    const c = matchSegmentRule(r, path);
    if (c !== undefined) out.push(c);
  }
  return out;
};

/** Vault's `wildcardPathDescriptorComparePriority`: whether `a` is lower priority than `b`. */
const lower = (a: Candidate, b: Candidate): boolean => {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard < b.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix;
  if (a.wildcards !== b.wildcards) return a.wildcards > b.wildcards;
  if (a.wcPath.length !== b.wcPath.length) return a.wcPath.length < b.wcPath.length;
  return a.wcPath < b.wcPath;
};

const highest = (cs: readonly Candidate[]): Candidate | undefined => {
  let top: Candidate | undefined;
  for (const c of cs) if (top === undefined || lower(top, c)) top = c;
  return top;
};

/** Vault's `resolveACLPermsForListOp`. */
const resolveList = (all: readonly Candidate[]): Perms | undefined => {
  const bestDeny = highest(all.filter((c) => c.perms.deny));
  const bestList = highest(all.filter((c) => c.perms.caps.has('list')));
  if (bestDeny !== undefined && (bestList === undefined || lower(bestList, bestDeny))) return bestDeny.perms;
  if (bestList !== undefined) return bestList.perms;
  return highest(all)?.perms;
};

/** The permissions that decide `op` on `path` (Vault's `AllowOperation` up to CHECK); undefined when no rule applies. */
export const referenceLookup = (
  rules: readonly Rule[],
  rawPath: string,
  op: Operation,
): Perms | undefined => {
  const path = rawPath.replace(/^\/+/, '');
  const exact = (p: string) => rules.find((r) => r.kind === 'exact' && r.key === p)?.perms;
  const hit =
    exact(path) ?? (op === 'list' ? exact(path.endsWith('/') ? path.slice(0, -1) : path) : undefined);
  if (hit !== undefined) return hit;
  if (op === 'list' && path.endsWith('/')) {
    return resolveList([...candidatesFor(rules, path.slice(0, -1)), ...candidatesFor(rules, path)]);
  }
  return highest(candidatesFor(rules, path))?.perms;
};

/** Whether `op` is allowed on `path`. */
export const referenceAllows = (rules: readonly Rule[], path: string, op: Operation): boolean => {
  const perms = referenceLookup(rules, path, op);
  return perms !== undefined && !perms.deny && perms.caps.has(op);
};

/** Whether a request of `op` on `path` has root privileges (Vault's `RootPrivs`: `sudo` in what decided). */
export const referenceSudo = (rules: readonly Rule[], path: string, op: Operation): boolean => {
  const perms = referenceLookup(rules, path, op);
  return perms !== undefined && !perms.deny && perms.caps.has('sudo');
};

/**
 * Vault's `ACL.Capabilities` (a list lookup), sorted as `sys/capabilities-self` answers: `['deny']`
 * when denied or nothing is granted.
 */
export const referenceCapabilities = (rules: readonly Rule[], path: string): string[] => {
  const perms = referenceLookup(rules, path, 'list');
  if (perms === undefined || perms.deny || perms.caps.size === 0) return ['deny'];
  return [...perms.caps].sort();
};
